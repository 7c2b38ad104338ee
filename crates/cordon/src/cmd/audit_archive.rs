//! `cordon audit archive SOURCE --log DIR`: one run of the archive (schedule it with cron
//! or a systemd timer): read a portal page, a CSV URL or an export file, and write each
//! search the archive has not seen, or has seen differently, into a Cordon log.
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use cordon_audit::archive::{append, plan, read_state};
use cordon_audit::columns::ColumnMap;
use cordon_audit::table::{read_csv_text, read_file, Table};
use cordon_log::Signer;

#[derive(Args)]
pub struct ArchiveArgs {
    /// A transparency-portal page (its audit CSV is embedded as a data: URI), a CSV URL,
    /// or an export file (CSV, .xlsx, or a saved portal page).
    source: String,
    /// The archive: a Cordon log directory made with `cordon log init`.
    #[arg(long)]
    log: PathBuf,
    /// The archive log's signer key (default: LOG.key, as `cordon log init` writes it).
    #[arg(long)]
    key: Option<PathBuf>,
    /// The organization of every row of a source with no organization column (a portal's
    /// audit is its agency's), e.g. `--org "San Mateo CA PD"`.
    #[arg(long)]
    org: Option<String>,
    /// Which column holds what, as for `cordon audit --map`.
    #[arg(long)]
    map: Vec<String>,
    /// Seconds to wait for a download.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
    /// Print what the run did as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(a: ArchiveArgs) -> Result<ExitCode> {
    let signer = load_signer(&a.log, a.key.as_deref())?;
    let map = ColumnMap::parse(&a.map)?;
    let tables = read_source(&a.source, &map, Duration::from_secs(a.timeout))?;
    let mut state = read_state(&a.log, &signer.verifier())
        .with_context(|| format!("reading the archive {}", a.log.display()))?;
    let seen = cordon_entry::now_rfc3339();
    let (entries, mut report) = plan(&mut state, &tables, &a.source, &seen, a.org.as_deref());
    // A run that finds nothing new leaves the archive untouched.
    report.log_size = if entries.is_empty() {
        state.entries
    } else {
        append(&a.log, signer, &entries)?
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{}: {} rows; {} new searches archived, {} edited since last seen, {} unchanged; the archive holds {} searches ({} log entries)",
            report.source,
            report.rows,
            report.new,
            report.edited,
            report.unchanged,
            report.searches_archived,
            report.log_size
        );
        if report.without_id > 0 {
            println!(
                "{} rows have no search id: each is known by its whole row, so an edit to one reads as a new search",
                report.without_id
            );
        }
        if state.other_entries > 0 {
            println!(
                "{} entries of the log are not archive entries (left as they are)",
                state.other_entries
            );
        }
    }
    for d in &report.damaged {
        eprintln!("{d}: damaged row (its field count differs from the header); not archived");
    }
    Ok(ExitCode::SUCCESS)
}

/// The tables of a URL (page or CSV) or a file (CSV, .xlsx, saved page).
fn read_source(source: &str, map: &ColumnMap, timeout: Duration) -> Result<Vec<Table>> {
    let lower = source.to_ascii_lowercase();
    let (bytes, label) = if lower.starts_with("http://") || lower.starts_with("https://") {
        let (body, from) = cordon_audit::fetch::get(source, timeout)?;
        (body, from)
    } else {
        let path = Path::new(source);
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        if ext == "xlsx" || ext == "xlsm" {
            return Ok(read_file(path, map)?);
        }
        let body = std::fs::read(path).with_context(|| format!("reading {source}"))?;
        (body, source.to_string())
    };
    if !cordon_audit::portal::is_html(&bytes) {
        return Ok(vec![read_csv_text(&label, &bytes, map)?]);
    }
    let page = String::from_utf8_lossy(&bytes);
    let csvs =
        cordon_audit::portal::embedded_csvs(&page).map_err(|e| anyhow::anyhow!("{label}: {e}"))?;
    if csvs.is_empty() {
        bail!(
            "{label}: a web page with no audit CSV in it (no data:text/csv link): the portal may not publish its search audit, or its page changed"
        );
    }
    csvs.iter()
        .enumerate()
        .map(|(i, csv)| {
            let name = if csvs.len() == 1 {
                label.clone()
            } else {
                format!("{label} [embedded CSV {}]", i + 1)
            };
            Ok(read_csv_text(&name, csv, map)?)
        })
        .collect()
}

fn load_signer(dir: &Path, key: Option<&Path>) -> Result<Signer> {
    let path = key.map_or_else(
        || {
            // `archive/` and `archive` name one log, whose key is `archive.key`.
            let mut s = dir.components().as_path().as_os_str().to_owned();
            s.push(".key");
            PathBuf::from(s)
        },
        Path::to_path_buf,
    );
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "reading the archive's signer key {} (make the archive with `cordon log init {}`, or pass --key KEYFILE)",
            path.display(),
            dir.display()
        )
    })?;
    Signer::parse(text.trim()).with_context(|| format!("{}: not a signer key", path.display()))
}
