//! `cordon audit bench`: rows/s and MB/s auditing a generated Flock export, beside Python's
//! csv module reading the same file in the same run (arms alternate; medians reported).
use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use cordon_audit::columns::ColumnMap;
use cordon_audit::{audit, AuditOptions};

#[derive(Args)]
pub struct AuditBenchArgs {
    /// Rows in the generated 13-column export.
    #[arg(long, default_value_t = 1_000_000)]
    rows: u64,
    /// Rounds; each runs both arms.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Worker threads for the audit (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
}

const PYTHON_BASELINE: &str = "import csv,sys\nn=0\nwith open(sys.argv[1],newline='',encoding='utf-8',errors='replace') as f:\n    for row in csv.reader(f): n+=1\nprint(n)";

pub fn run(args: AuditBenchArgs) -> Result<ExitCode> {
    let tmp = tempfile::tempdir().context("creating a temporary directory")?;
    let export = tmp.path().join("export.csv");
    let f =
        std::fs::File::create(&export).with_context(|| format!("creating {}", export.display()))?;
    let mut w = std::io::BufWriter::new(f);
    cordon_audit::sample::write_flock_export(&mut w, args.rows, 1)?;
    std::io::Write::flush(&mut w)?;
    drop(w);
    let bytes = std::fs::metadata(&export)?.len();
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let (mut ours, mut python) = (Vec::new(), Vec::new());
    for round in 0..args.rounds {
        let opts = AuditOptions {
            files: vec![export.clone()],
            format: None,
            map: ColumnMap::default(),
            out: tmp.path().join(format!("out{round}")),
            threads,
            log_key: None,
            org: None,
        };
        let t = Instant::now();
        let outcome = audit(&opts, &|_, _| {})?;
        ours.push(t.elapsed().as_secs_f64());
        anyhow::ensure!(
            outcome.summary.rows == args.rows,
            "the audit read {} rows",
            outcome.summary.rows
        );
        python.push(python_seconds(&export)?);
    }
    let (o, p) = (median(ours), median(python));
    let mb = bytes as f64 / 1e6;
    println!(
        "{} rows, {:.1} MB, 13 columns; medians of {} rounds",
        args.rows, mb, args.rounds
    );
    println!(
        "cordon audit ({threads} threads): {:.3} s  {:.0} rows/s  {:.1} MB/s",
        o,
        args.rows as f64 / o,
        mb / o
    );
    println!(
        "python csv.reader (read only): {:.3} s  {:.0} rows/s  {:.1} MB/s",
        p,
        args.rows as f64 / p,
        mb / p
    );
    println!("ratio (cordon / python): {:.2}x", p / o);
    println!(
        "peak resident memory of this process: {} MB",
        peak_rss_mb().unwrap_or(0)
    );
    Ok(ExitCode::SUCCESS)
}

fn python_seconds(export: &Path) -> Result<f64> {
    let t = Instant::now();
    let out = Command::new("python3")
        .args(["-c", PYTHON_BASELINE])
        .arg(export)
        .output()
        .context("running python3 for the baseline")?;
    anyhow::ensure!(
        out.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(t.elapsed().as_secs_f64())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// VmHWM from /proc: the most memory this process has held at once.
fn peak_rss_mb() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}
