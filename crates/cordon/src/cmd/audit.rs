//! `cordon audit`: screen exported access logs and write a report, a CSV of flagged rows
//! and a JSON summary.
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use cordon_audit::columns::ColumnMap;
use cordon_audit::{audit, AuditOptions, Format};

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: Option<AuditCommand>,
    /// Export files to read (Flock audit exports in any known layout, CSV or .xlsx; other
    /// CSVs; JSONL), or Cordon log directories.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The inputs' format (default: cordon for a directory, jsonl for .jsonl/.ndjson
    /// files, xlsx for .xlsx, flock otherwise; flock recognizes every known layout from
    /// its header).
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
    /// Which column holds what, e.g. `--map reason=Purpose,org=Agency` (keys: id, user,
    /// org, time, time_frame, time_frame_start, time_frame_end, networks, devices, plate,
    /// reason, case, offense, filters, search_type, text_prompt, moderation).
    #[arg(long)]
    map: Vec<String>,
    /// The organization of every row of a file with no organization column (a
    /// transparency-portal audit is one agency's), e.g. `--org "San Mateo CA PD"`.
    #[arg(long)]
    org: Option<String>,
    /// Where to write report.html, flagged.csv and summary.json.
    #[arg(long, required = true)]
    out: Option<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// For Cordon logs: the verifier key (or a file holding it) to check them against
    /// (default: the key each log recorded when it was created).
    #[arg(long)]
    vkey: Option<String>,
}

/// The exit status when a file's time, organization or reason column could not be read at
/// all: the audit ran, but its figures for that file are incomplete.
pub const INCOMPLETE: u8 = 3;

#[derive(clap::Subcommand)]
enum AuditCommand {
    /// Write a synthetic, clearly fake Flock network-audit export (13 columns), for trying
    /// the audit and for benchmarks.
    Generate {
        /// Rows to write.
        #[arg(long, default_value_t = 1000)]
        rows: u64,
        /// Seed: the same seed makes the same file.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Measure the whole command and its parse-and-screen core (rows/s, MB/s) on a
    /// generated export, beside DuckDB doing the same job and Python's csv module reading it.
    Bench(super::audit_bench::AuditBenchArgs),
    /// Reconcile a vendor's audit export with Cordon's log: the searches with no allow
    /// went around Cordon; also the matched ones, and allows the vendor never recorded.
    /// Exit status 4 when any search went around.
    Reconcile(super::audit_reconcile::ReconcileArgs),
    /// One run of the archive: keep every search of a portal page, CSV URL or export in
    /// a Cordon log, again whenever a later copy differs (schedule it with cron).
    Archive(super::audit_archive::ArchiveArgs),
    /// Re-decide every request a Cordon log recorded under another stack of policy packs,
    /// and report which decisions would change and why.
    Replay {
        /// The log directory (verified in full before it is read).
        log: PathBuf,
        /// The packs to replay under, in stack order (repeat --pack; one pack alone means
        /// the stack its pack.json names).
        #[arg(long, required = true)]
        pack: Vec<PathBuf>,
        /// The log's verifier key or a file holding it (default: the key recorded at init).
        #[arg(long)]
        vkey: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Flock,
    Csv,
    Xlsx,
    Jsonl,
    Cordon,
}

pub fn run(args: AuditArgs) -> Result<ExitCode> {
    let command = match args.command {
        Some(AuditCommand::Bench(b)) => return super::audit_bench::run(b),
        Some(AuditCommand::Reconcile(r)) => return super::audit_reconcile::run(r),
        Some(AuditCommand::Archive(a)) => return super::audit_archive::run(a),
        other => other,
    };
    let args = AuditArgs { command, ..args };
    if let Some(AuditCommand::Replay {
        log,
        pack,
        vkey,
        json,
    }) = args.command
    {
        return replay(&log, &pack, vkey.as_deref(), json);
    }
    if let Some(AuditCommand::Generate { rows, seed, out }) = args.command {
        let f =
            std::fs::File::create(&out).with_context(|| format!("creating {}", out.display()))?;
        let mut w = std::io::BufWriter::new(f);
        cordon_audit::sample::write_flock_export(&mut w, rows, seed)
            .and_then(|()| std::io::Write::flush(&mut w))
            .with_context(|| format!("writing {}", out.display()))?;
        eprintln!("wrote {rows} synthetic rows to {}", out.display());
        return Ok(ExitCode::SUCCESS);
    }
    let Some(out) = args.out.clone() else {
        anyhow::bail!("--out DIR is required: where to write the report");
    };
    let format = args.format.map(|f| match f {
        FormatArg::Flock => Format::Flock,
        FormatArg::Csv => Format::Csv,
        FormatArg::Xlsx => Format::Xlsx,
        FormatArg::Jsonl => Format::Jsonl,
        FormatArg::Cordon => Format::Cordon,
    });
    let log_key = args
        .vkey
        .as_deref()
        .map(super::log::parse_vkey)
        .transpose()?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let opts = AuditOptions {
        files: args.files.clone(),
        format,
        map: ColumnMap::parse(&args.map)?,
        out: out.clone(),
        threads,
        log_key,
        org: args.org.clone(),
    };
    let bar = progress_bar(&args.files);
    let current = Mutex::new(PathBuf::new());
    let progress = |path: &Path, bytes: u64| {
        if let Some(b) = &bar {
            let mut cur = current.lock().unwrap_or_else(|p| p.into_inner());
            if *cur != path {
                *cur = path.to_path_buf();
                b.set_message(path.display().to_string());
            }
            b.set_position(bytes);
        }
    };
    let outcome = audit(&opts, &progress)?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let s = &outcome.summary;
    for w in &s.warnings {
        eprintln!("warning: {w}");
    }
    let d = &s.searches;
    let unit = if d.repeated_rows > 0 {
        "rows"
    } else {
        "searches"
    };
    if d.repeated_rows > 0 {
        println!(
            "{} rows read, {} distinct searches (rows that share a search id are one search)",
            s.rows, d.distinct
        );
    } else {
        println!("{} searches read", s.rows);
    }
    println!(
        "searches: {} with an immigration reason, {} by immigration agencies, {} side-door",
        d.immigration, d.immigration_agency, d.side_door
    );
    println!(
        "these counts are a lower bound: {} of {} {unit} give no checkable reason (blank, masked, a case number, \"investigation\")",
        s.reason_says_nothing, s.rows
    );
    // Only when some row has a verdict: a JSON-lines export without the key reads blank.
    if s.moderation.rows > s.moderation.blank {
        println!(
            "Flock's moderation: {} allowed, {} warned, {} blocked",
            s.moderation.allowed, s.moderation.warned, s.moderation.blocked
        );
    }
    println!("report: {}", out.join("report.html").display());
    for f in &s.files {
        for e in &f.errors {
            if e.starts_with(&f.path) {
                eprintln!("{e}");
            } else {
                eprintln!("{}: {e}", f.path);
            }
        }
    }
    if outcome.incomplete > 0 {
        eprintln!(
            "{} file(s) have a key column (time, organization or reason) Cordon could not read; the report says which, in its first lines",
            outcome.incomplete
        );
        return Ok(ExitCode::from(INCOMPLETE));
    }
    if outcome.errors > 0 {
        eprintln!(
            "{} problem(s) reading the input; the rest was audited (see above)",
            outcome.errors
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// A progress bar on a terminal; nothing when output goes to a file or a pipe.
fn progress_bar(files: &[PathBuf]) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let largest = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .max()
        .unwrap_or(0);
    let bar = indicatif::ProgressBar::new(largest);
    let style = indicatif::ProgressStyle::with_template(
        "{msg} {bar:40} {bytes}/{total_bytes} {bytes_per_sec}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    Some(bar)
}

fn replay(log: &Path, packs: &[PathBuf], vkey: Option<&str>, json: bool) -> Result<ExitCode> {
    let verifier = match vkey {
        Some(v) => super::log::parse_vkey(v)?,
        None => super::log::parse_vkey(&log.join(cordon_log::log::VKEY_FILE).to_string_lossy())
            .with_context(|| format!("no --vkey given and no key recorded in {}", log.display()))?,
    };
    let pack = super::policy::load_stack(packs)?;
    let r = cordon_audit::replay::replay(log, &verifier, &pack)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!(
            "{} decisions replayed under {}: {} unchanged, {} allowed before would now be denied, {} denied before would now be allowed",
            r.entries,
            pack.name(),
            r.unchanged,
            r.allow_to_deny,
            r.deny_to_allow
        );
        for c in &r.changes {
            println!(
                "  entry {} ({}): {} {} {} for {}: {:?} -> {:?}; {}",
                c.index,
                c.time,
                c.agency,
                c.action,
                c.dataset,
                c.purpose,
                c.was,
                c.now,
                c.why.join(" ")
            );
        }
        if !r.court_not_recorded.is_empty() {
            println!(
                "{} entries name a judicial warrant or court order with no court recorded (written before courts were recorded, or typed with no registration): read as opening nothing, flagged, not rewritten: entries {:?}",
                r.court_not_recorded.len(),
                r.court_not_recorded
            );
        }
        if r.register_entries > 0 {
            println!(
                "{} entries of the federal request register are not access decisions and were not replayed (`cordon report` reads them)",
                r.register_entries
            );
        }
        if r.not_decisions > 0 {
            println!(
                "{} entries are refusals before any policy decision, configuration reloads or \"not served\" notes: nothing to re-decide",
                r.not_decisions
            );
        }
        for s in &r.skipped {
            eprintln!("skipped {s}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
