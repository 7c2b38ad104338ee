//! `cordon log demo`: create a log, append sample decisions, prove one, verify it all, and
//! show that a changed byte is caught — the log's promise in one command.
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use cordon_log::verify::{prove, verify_dir};
use cordon_log::{create, Log, LogConfig, Signer, Verifier};

#[derive(Args)]
pub struct LogDemoArgs {
    /// Where to keep the demo log and its key.
    #[arg(long, default_value = "cordon-data")]
    data: PathBuf,
}

/// Synthetic decisions, clearly fake, in the shape the gateway logs.
const SAMPLE_DECISIONS: [&str; 4] = [
    r#"{"principal":"cpd:det-0417","agency":"cpd","action":"search","dataset":"alpr","purpose":"criminal_investigation","case":"JD-000001","decision":"allow"}"#,
    r#"{"principal":"ice-ero:officer-12","agency":"ice-ero","action":"search","dataset":"alpr","purpose":"civil_immigration_enforcement","decision":"deny","citation":"MCC 2-173-020"}"#,
    r#"{"principal":"cpd:ofc-2291","agency":"cpd","action":"search","dataset":"alpr","purpose":"criminal_investigation","reason":"assist ICE ERO","decision":"deny","citation":"MCC 2-173-030"}"#,
    r#"{"principal":"cpd:det-0417","agency":"cpd","action":"read","dataset":"records","purpose":"victim_services","reason":"U visa certification","decision":"allow","redact":["immigration_status"]}"#,
];

pub fn run(args: LogDemoArgs) -> Result<ExitCode> {
    let dir = args.data.join("log-demo");
    let key_path = args.data.join("log-demo.key");
    fs::create_dir_all(&args.data).with_context(|| format!("creating {}", args.data.display()))?;
    let signer = demo_signer(&dir, &key_path)?;
    let verifier = signer.verifier();
    println!("verifier key (publish this): {}", verifier.to_text());

    step("1. Append four decisions; each is acknowledged only once it is on disk.");
    let (log, _) = Log::open(&dir, signer, LogConfig::default())?;
    let mut denied_index = 0;
    for d in SAMPLE_DECISIONS {
        let r = log.append(d.as_bytes().to_vec())?;
        println!("   receipt {:>4}  {d}", r.index());
        if d.contains("ice-ero") {
            denied_index = r.index();
        }
    }
    let cp = log.wait_checkpoint(log.durable_size(), Duration::from_secs(30))?;
    log.close()?;
    step("2. The log signs a checkpoint: its size and Merkle root.");
    print!("{}", indent(&String::from_utf8_lossy(&cp.to_bytes())));

    step(&format!(
        "3. Prove that the denied ICE search (receipt {denied_index}) is in the log."
    ));
    let proof = prove(&dir, &verifier, denied_index)?;
    let proof_path = args.data.join(format!("receipt-{denied_index}.tlog-proof"));
    fs::write(&proof_path, proof.to_text())
        .with_context(|| format!("writing {}", proof_path.display()))?;
    print!("{}", indent(&proof.to_text()));

    step("4. Verify everything: the signature, every tile recomputed from the entries.");
    let report = verify_dir(&dir, &verifier)?;
    println!(
        "   OK: {} entries; {} tile(s) recomputed from them",
        report.size, report.tiles_checked
    );

    step("5. Change one byte of a copy, as someone covering tracks would: it is caught.");
    let tampered = args.data.join("log-demo-tampered");
    tamper_copy(&dir, &tampered)?;
    match verify_dir(&tampered, &verifier) {
        Ok(_) => anyhow::bail!("the tampered copy verified; this is a bug, please report it"),
        Err(e) => println!("   FAIL (as it should): {e}"),
    }

    step("Try it yourself:");
    let d = dir.display();
    let v = verifier.to_text();
    println!(
        "   echo 'my decision' | cordon log append {d} --key {}",
        key_path.display()
    );
    println!("   cordon log verify {d} --vkey {v}");
    println!("   cordon log prove {d} --index 0");
    println!(
        "   cordon log check-proof {} --entry FILE --vkey {v}",
        proof_path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Reuses the demo log from an earlier run, or creates one with a fresh key.
fn demo_signer(dir: &Path, key_path: &Path) -> Result<Signer> {
    if dir.join("checkpoint").exists() {
        let text = fs::read_to_string(key_path).with_context(|| {
            format!(
                "the demo log exists but its key {} does not; remove {} to start over",
                key_path.display(),
                dir.display()
            )
        })?;
        return Signer::parse(&text).with_context(|| format!("{}", key_path.display()));
    }
    let signer = Signer::generate("demo.cordon.example/log")?;
    create(dir, &signer)?;
    super::log::write_secret(key_path, &signer.to_text())?;
    Ok(signer)
}

fn tamper_copy(from: &Path, to: &Path) -> Result<()> {
    let _ = fs::remove_dir_all(to);
    copy_tree(from, to)?;
    let size = cordon_log::read_checkpoint(
        to,
        &Verifier::parse(&fs::read_to_string(to.join(cordon_log::log::VKEY_FILE))?)?,
    )?
    .checkpoint
    .size;
    let id = cordon_log::tile::bundle_in_tree(size, 0).context("the demo log is empty")?;
    let (path, mut data) = cordon_log::fs::read_tile_file(to, id, size)?;
    if let Some(pos) = data.windows(4).position(|w| w == b"deny") {
        data[pos..pos + 4].copy_from_slice(b"ok!!");
    }
    fs::write(&path, data).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to)?;
    for e in fs::read_dir(from)? {
        let e = e?;
        let dst = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_tree(&e.path(), &dst)?;
        } else {
            fs::copy(e.path(), dst)?;
        }
    }
    Ok(())
}

fn step(s: &str) {
    println!("\n{s}");
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("   {l}\n")).collect()
}
