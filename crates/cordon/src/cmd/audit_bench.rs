//! `cordon audit bench`: the whole `cordon audit` command (parse, screen, counts, report,
//! flagged.csv) on a generated export, beside DuckDB doing the same job in SQL (read_csv,
//! a regex built from Cordon's own keyword list, counts by organization and month, COPY of
//! the flagged rows) and Python's csv module merely reading the file, in the same run.
//! Each arm is a separate process, timed and measured (peak resident memory) by the same
//! small Python wrapper (`os.wait4`); arms alternate and medians are reported. Beside them,
//! the parse-and-screen core alone (`cordon_audit::core_scan`), timed in this process.
use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result};
use clap::Args;

#[derive(Args)]
pub struct AuditBenchArgs {
    /// Rows in the generated 13-column export.
    #[arg(long, default_value_t = 1_000_000)]
    rows: u64,
    /// Rounds; each runs every arm.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Worker threads for the audit (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Leave out the DuckDB arm (it needs the `duckdb` Python package).
    #[arg(long)]
    no_duckdb: bool,
}

/// Runs a command and prints its wall time and its own peak resident memory (KiB).
const MEASURE: &str = "import os,subprocess,sys,time\nt=time.perf_counter()\np=subprocess.Popen(sys.argv[1:],stdout=subprocess.DEVNULL)\n_,status,ru=os.wait4(p.pid,0)\nd=time.perf_counter()-t\nif status!=0: sys.exit('failed: '+' '.join(sys.argv[1:]))\nprint(d,ru.ru_maxrss)";

const PYTHON_READ: &str = "import csv,sys\nn=0\nwith open(sys.argv[1],newline='',encoding='utf-8',errors='replace') as f:\n    for row in csv.reader(f): n+=1\nprint(n)";

/// The same job in DuckDB: read the export once, count rows and keyword hits by
/// organization and month, write the flagged rows with all their columns.
const DUCKDB_JOB: &str = r#"import duckdb,json,sys
path,out,rx=sys.argv[1:4]
q=lambda s:"'"+s.replace("'","''")+"'"
con=duckdb.connect()
con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv({q(path)}, header=true, all_varchar=true)")
hit=f"(regexp_matches(lower(\"Reason\"), {q(rx)}) OR regexp_matches(lower(\"Org Name\"), {q(rx)}))"
rows=con.execute(f"SELECT \"Org Name\", strftime(strptime(\"Search Time\", '%m/%d/%Y, %I:%M:%S %p UTC'), '%Y-%m') AS month, count(*), count(*) FILTER (WHERE {hit}) FROM t GROUP BY ALL").fetchall()
con.execute(f"COPY (SELECT * FROM t WHERE {hit}) TO {q(out+'/flagged.csv')} (HEADER)")
json.dump({"groups":len(rows),"rows":sum(r[2] for r in rows),"flagged":sum(r[3] for r in rows)},open(out+'/summary.json','w'))
"#;

/// One arm's wall time (s) and peak memory (MB).
struct Run {
    secs: f64,
    mb: f64,
}

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
    let me = std::env::current_exe().context("finding the cordon binary")?;
    let regex = format!(r"\b({})\b", cordon_policy::screen::keywords().join("|"));
    let (mut ours, mut duck, mut python) = (Vec::new(), Vec::new(), Vec::new());
    let mut core = Vec::new();
    for round in 0..args.rounds {
        let out = tmp.path().join(format!("cordon{round}"));
        let mut cmd = vec![
            me.display().to_string(),
            "audit".into(),
            export.display().to_string(),
            "--out".into(),
            out.display().to_string(),
            "--threads".into(),
            threads.to_string(),
        ];
        ours.push(measure(&cmd)?);
        core.push(measure_core(&export, threads, args.rows)?);
        if !args.no_duckdb {
            let dout = tmp.path().join(format!("duckdb{round}"));
            std::fs::create_dir_all(&dout)?;
            cmd = vec![
                "python3".into(),
                "-c".into(),
                DUCKDB_JOB.into(),
                export.display().to_string(),
                dout.display().to_string(),
                regex.clone(),
            ];
            duck.push(measure(&cmd)?);
        }
        cmd = vec![
            "python3".into(),
            "-c".into(),
            PYTHON_READ.into(),
            export.display().to_string(),
        ];
        python.push(measure(&cmd)?);
        check_rows(&out, args.rows)?;
    }
    let mb = bytes as f64 / 1e6;
    let core_rates: Vec<f64> = core.iter().map(|r| mb / r.secs).collect();
    let ratios: Vec<f64> = duck
        .iter()
        .zip(&ours)
        .map(|(d, o)| d.secs / o.secs)
        .collect();
    println!(
        "{} rows, {:.1} MB, 13 columns; medians of {} rounds; each arm a separate process",
        args.rows, mb, args.rounds
    );
    let line = |name: &str, runs: Vec<Run>| {
        let (secs, peak) = medians(runs);
        println!(
            "{name}: {secs:.3} s  {:.0} rows/s  {:.1} MB/s  peak {peak:.0} MB",
            args.rows as f64 / secs,
            mb / secs
        );
        secs
    };
    let o = line(
        &format!("cordon audit, whole command ({threads} threads)"),
        ours,
    );
    let (secs, _) = medians(core);
    println!(
        "cordon parse and screen core ({threads} threads, in the bench process: read in chunks, split every field, screen reason and organization): {secs:.3} s  {:.0} rows/s  {:.1} MB/s",
        args.rows as f64 / secs,
        mb / secs
    );
    let d = (!duck.is_empty()).then(|| {
        line(
            "duckdb: read_csv, keyword regex, group by org and month, COPY flagged",
            duck,
        )
    });
    let p = line("python csv.reader, read only", python);
    if let Some(d) = d {
        println!("cordon vs duckdb: {:.2}x", d / o);
    }
    println!("cordon vs python read: {:.2}x", p / o);
    // A target counts as met only when every round meets it.
    verdict("core MB/s", &core_rates, 1000.0);
    if !ratios.is_empty() {
        verdict("cordon vs duckdb", &ratios, 5.0);
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints each round's figure and whether every round reached `target`.
fn verdict(what: &str, per_round: &[f64], target: f64) {
    let rounds: Vec<String> = per_round.iter().map(|v| format!("{v:.2}")).collect();
    let met = !per_round.is_empty() && per_round.iter().all(|&v| v >= target);
    println!(
        "{what} per round: {} (target >= {target}: {})",
        rounds.join(", "),
        if met { "met" } else { "missed" }
    );
}

fn measure(cmd: &[String]) -> Result<Run> {
    let out = Command::new("python3")
        .args(["-c", MEASURE])
        .args(cmd)
        .output()
        .context("running python3 to time the arm")?;
    anyhow::ensure!(
        out.status.success(),
        "{} failed: {}",
        cmd.first().map_or("", String::as_str),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text.split_whitespace();
    let secs: f64 = it.next().context("no time")?.parse()?;
    let kb: f64 = it.next().context("no memory")?.parse()?;
    Ok(Run {
        secs,
        mb: kb / 1024.0,
    })
}

/// Times the parse-and-screen core alone, in this process (it has no process of its own
/// to start: what it leaves out is what the whole command adds).
fn measure_core(export: &Path, threads: usize, rows: u64) -> Result<Run> {
    let t = std::time::Instant::now();
    let count = cordon_audit::core_scan::scan(export, threads)?;
    let secs = t.elapsed().as_secs_f64();
    anyhow::ensure!(count.rows == rows, "the core read {} rows", count.rows);
    anyhow::ensure!(count.flagged > 0, "the core flagged nothing");
    Ok(Run { secs, mb: 0.0 })
}

fn check_rows(out: &Path, rows: u64) -> Result<()> {
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("summary.json"))?)?;
    anyhow::ensure!(s["rows"] == rows, "the audit read {} rows", s["rows"]);
    Ok(())
}

fn medians(runs: Vec<Run>) -> (f64, f64) {
    let med = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    (
        med(runs.iter().map(|r| r.secs).collect()),
        med(runs.iter().map(|r| r.mb).collect()),
    )
}
