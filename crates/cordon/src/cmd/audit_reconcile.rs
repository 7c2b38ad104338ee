//! `cordon audit reconcile EXPORT --log LOG`: which searches in a vendor's audit export have
//! no allow in Cordon's log (they went around Cordon), which matched, and which allows
//! the vendor never recorded.
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use cordon_audit::columns::ColumnMap;
use cordon_audit::reconcile::{fold, reconcile, ReconcileOptions, ReconcileReport};

/// The exit status when vendor searches have no allow in the log.
pub const WENT_AROUND: u8 = 4;

#[derive(Args)]
pub struct ReconcileArgs {
    /// The vendor's audit export(s): CSV in any known Flock layout, or .xlsx.
    #[arg(required = true)]
    exports: Vec<PathBuf>,
    /// Cordon's log directory (verified in full before it is read).
    #[arg(long)]
    log: PathBuf,
    /// The log's verifier key or a file holding it (default: the key recorded at init).
    #[arg(long)]
    vkey: Option<String>,
    /// Seconds a vendor's search time may differ from the allow in the log.
    #[arg(long, default_value_t = 300)]
    window: i64,
    /// Only allows for this dataset are compared (the vendor's, e.g. `alpr`).
    #[arg(long)]
    dataset: Option<String>,
    /// Only the export's searches by this organization should have passed Cordon (a
    /// network audit also lists other agencies' searches); repeat for several.
    #[arg(long = "org")]
    orgs: Vec<String>,
    /// A CSV of `vendor_user,cordon_principal` pairs, for accounts named differently on
    /// each side (a header row is allowed).
    #[arg(long)]
    users: Option<PathBuf>,
    /// Which column holds what, as for `cordon audit --map`.
    #[arg(long)]
    map: Vec<String>,
    /// Where to write reconcile.json, unmatched.csv, matched.csv and unrecorded_allows.csv.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(a: ReconcileArgs) -> Result<ExitCode> {
    let verifier = match &a.vkey {
        Some(v) => super::log::parse_vkey(v)?,
        None => super::log::parse_vkey(&a.log.join(cordon_log::log::VKEY_FILE).to_string_lossy())
            .with_context(|| {
            format!("no --vkey given and no key recorded in {}", a.log.display())
        })?,
    };
    let map = ColumnMap::parse(&a.map)?;
    let mut tables = Vec::new();
    for e in &a.exports {
        tables.extend(cordon_audit::table::read_file(e, &map)?);
    }
    let opts = ReconcileOptions {
        window: a.window,
        dataset: a.dataset.clone(),
        orgs: a.orgs.iter().map(|o| fold(o)).collect(),
        users: a
            .users
            .as_deref()
            .map(read_users)
            .transpose()?
            .unwrap_or_default(),
    };
    let r = reconcile(&tables, &a.log, &verifier, &opts)?;
    write_outputs(&a.out, &r)?;
    print_summary(&r, &a.out);
    Ok(if r.unmatched.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(WENT_AROUND)
    })
}

fn read_users(path: &Path) -> Result<HashMap<String, String>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(path)
        .with_context(|| format!("reading the user map {}", path.display()))?;
    let mut map = HashMap::new();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.with_context(|| format!("{}: line {}", path.display(), i + 1))?;
        let (Some(vendor), Some(principal)) = (rec.get(0), rec.get(1)) else {
            anyhow::bail!(
                "{}, line {}: expected two columns, vendor_user,cordon_principal",
                path.display(),
                i + 1
            );
        };
        if i == 0 && fold(vendor) == "vendoruser" {
            continue;
        }
        map.insert(fold(vendor), principal.trim().to_string());
    }
    Ok(map)
}

fn write_outputs(out: &Path, r: &ReconcileReport) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let path = out.join("reconcile.json");
    std::fs::write(&path, serde_json::to_vec_pretty(r)?)
        .with_context(|| format!("writing {}", path.display()))?;
    write_csv(&out.join("unmatched.csv"), &r.unmatched)?;
    write_csv(&out.join("unrecorded_allows.csv"), &r.unrecorded_allows)?;
    let matched: Vec<MatchedRow> = r
        .matched
        .iter()
        .map(|m| MatchedRow {
            file: &m.search.file,
            line: m.search.line,
            id: &m.search.id,
            user: &m.search.user,
            time: &m.search.time,
            log_index: m.log_index,
            seconds_after_allow: m.seconds_after_allow,
            agreed_on: m.agreed_on.join(";"),
        })
        .collect();
    write_csv(&out.join("matched.csv"), &matched)
}

#[derive(serde::Serialize)]
struct MatchedRow<'a> {
    file: &'a str,
    line: u64,
    id: &'a str,
    user: &'a str,
    time: &'a str,
    log_index: u64,
    seconds_after_allow: i64,
    agreed_on: String,
}

fn write_csv<T: serde::Serialize>(path: &Path, rows: &[T]) -> Result<()> {
    let mut w =
        csv::Writer::from_path(path).with_context(|| format!("writing {}", path.display()))?;
    for row in rows {
        w.serialize(row)?;
    }
    w.flush()?;
    Ok(())
}

fn print_summary(r: &ReconcileReport, out: &Path) {
    let stdout = std::io::stdout();
    let mut o = stdout.lock();
    let _ = writeln!(
        o,
        "{} vendor searches; {} matched an allow in Cordon's log ({} on time alone: the export masks user and plate), {} had none: they went around Cordon",
        r.vendor_searches,
        r.matched.len(),
        r.matched_on_time_only,
        r.unmatched.len()
    );
    let _ = writeln!(
        o,
        "{} allows in the log ({} entries); {} in the export's period the vendor never recorded",
        r.log_allows,
        r.log_entries,
        r.unrecorded_allows.len()
    );
    for (n, what) in [
        (
            r.outside_log_period,
            "vendor searches fall outside the log's period and were not checked",
        ),
        (
            r.no_time.len() as u64,
            "vendor searches have no readable time and were not checked (listed in reconcile.json)",
        ),
        (
            r.other_organizations,
            "rows are other organizations' searches (--org) and were left out",
        ),
        (r.duplicate_rows, "rows repeat a search id already read"),
        (
            r.damaged_rows.len() as u64,
            "rows are damaged (field count differs from the header) and were skipped",
        ),
    ] {
        if n > 0 {
            let _ = writeln!(o, "{n} {what}");
        }
    }
    for s in r.unmatched.iter().take(20) {
        let _ = writeln!(
            o,
            "  no allow: {}:{} {} user {:?} org {:?} plate {:?} reason {:?}",
            s.file, s.line, s.time, s.user, s.org, s.plate, s.reason
        );
    }
    if r.unmatched.len() > 20 {
        let _ = writeln!(
            o,
            "  ... and {} more in unmatched.csv",
            r.unmatched.len() - 20
        );
    }
    let _ = writeln!(o, "details: {}", out.join("reconcile.json").display());
}
