//! `cordon verify`: an auditor's independent check of a published log, its witnesses'
//! cosignatures, its consistency with what the auditor saw last time, and receipts.
use anyhow::{bail, Context, Result};
use cordon_witness::verify::{self, receipt, Options, Report, Source};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use super::log::parse_vkey;

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The log: a directory, or an https:// (or http://) URL prefix serving `checkpoint`
    /// and `tile/...`.
    source: String,
    /// The log's verifier key, or a file holding it.
    #[arg(long)]
    vkey: String,
    /// A witness's verifier key (cosignature/v1), or a file holding it. Repeatable.
    #[arg(long = "witness", value_name = "VKEY")]
    witnesses: Vec<String>,
    /// Valid cosignatures required from distinct witnesses [default: all witnesses given].
    #[arg(long)]
    quorum: Option<usize>,
    /// Remembers the last checkpoint verified per log; later runs demand the log only grew.
    #[arg(long)]
    state: Option<PathBuf>,
    /// Another checkpoint of this log (file or URL), e.g. a cosigned one a witness
    /// or another auditor kept; it must agree with the tree. Repeatable.
    #[arg(long = "checkpoint", value_name = "FILE_OR_URL")]
    checkpoints: Vec<String>,
    /// A signed receipt to check against the published log: the Cordon-Signed-Receipt
    /// value, or a file holding a saved 403 body, saved headers (curl -D) or the receipt
    /// text; or INDEX:LEAFHASH / INDEX:ENTRY_FILE to look an entry up. Repeatable.
    #[arg(long = "receipt", value_name = "RECEIPT")]
    receipts: Vec<String>,
    /// A file of receipts: one base64 receipt (or INDEX:ENTRY_FILE) per line, a gateway's
    /// JSON denial, saved response headers, or the receipt text.
    #[arg(long = "receipts", value_name = "FILE")]
    receipts_file: Option<PathBuf>,
    /// The log's receipt key (printed by `cordon log init` and `cordon log receipt-key`,
    /// published beside the verifier key), or a file holding it. Needed for signed receipts.
    #[arg(long = "receipt-key", value_name = "VKEY")]
    receipt_key: Option<String>,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// Seconds to wait for each HTTP request.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
}

pub fn run(args: VerifyArgs) -> Result<ExitCode> {
    let json = args.json;
    let opts = options(args)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let report = rt.block_on(verify::run(opts));
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_human(&report);
    }
    Ok(if !report.pass {
        ExitCode::FAILURE
    } else if report.pending {
        ExitCode::from(NOT_YET_PUBLISHED)
    } else {
        ExitCode::SUCCESS
    })
}

/// The exit status when every check passed but a receipt is not yet in the published log.
const NOT_YET_PUBLISHED: u8 = 3;

fn options(args: VerifyArgs) -> Result<Options> {
    let log_key = parse_vkey(&args.vkey)?;
    if log_key.is_cosigner() {
        bail!(
            "--vkey {} is a witness key; give the log's verifier key",
            args.vkey
        );
    }
    let mut witnesses = Vec::new();
    for w in &args.witnesses {
        let v = parse_vkey(w).with_context(|| format!("--witness {w}"))?;
        if !v.is_cosigner() {
            bail!("--witness {w} is not a witness (cosignature/v1) key; witness keys come from `cordon witness keygen`");
        }
        witnesses.push(v);
    }
    let quorum = args.quorum.unwrap_or(witnesses.len());
    if quorum > witnesses.len() {
        bail!(
            "--quorum {quorum} is more than the {} witnesses given with --witness",
            witnesses.len()
        );
    }
    let mut receipts = Vec::new();
    for r in &args.receipts {
        receipts.extend(receipt::parse(r, Path::new("."))?);
    }
    if let Some(f) = &args.receipts_file {
        receipts.extend(receipt::parse_file(f)?);
    }
    let receipt_key = match &args.receipt_key {
        Some(k) => Some(parse_vkey(k).with_context(|| format!("--receipt-key {k}"))?),
        None => None,
    };
    let signed = receipts
        .iter()
        .any(|r| matches!(r, receipt::Receipt::Signed { .. }));
    if signed && receipt_key.is_none() {
        bail!("signed receipts are checked against the log's receipt key: give --receipt-key (printed by `cordon log init` and `cordon log receipt-key`, published beside the log's verifier key)");
    }
    Ok(Options {
        source: Source::parse(&args.source, Duration::from_secs(args.timeout))?,
        log_key,
        witnesses,
        quorum,
        state: args.state,
        checkpoints: args.checkpoints,
        receipts,
        receipt_key,
    })
}

fn print_human(r: &Report) {
    println!("log {}", r.source);
    for c in &r.checks {
        println!("  {} {:<17} {}", mark(c.ok), c.check, c.detail);
        if let Some(sv) = &c.split_view {
            for s in &sv.seen {
                println!("        size {} root {} in {}", sv.size, s.root, s.seen_in);
            }
        }
    }
    for rc in &r.receipts {
        let m = match rc.outcome {
            verify::Outcome::NotYetPublished => "WAIT",
            _ => mark(rc.ok),
        };
        println!("  {m} receipt {:<9} {}", rc.index, rc.detail);
    }
    match r.failure() {
        None => {
            let state = if r.state_updated {
                "; state updated"
            } else {
                ""
            };
            let waiting = if r.pending {
                " (a receipt is not yet published: run again later)"
            } else {
                ""
            };
            println!(
                "PASS: {} at size {}{state}{waiting}",
                r.origin.as_deref().unwrap_or("?"),
                r.size.unwrap_or(0)
            );
        }
        Some(why) => println!("FAIL: {why}"),
    }
}

fn mark(ok: bool) -> &'static str {
    if ok {
        "ok  "
    } else {
        "FAIL"
    }
}
