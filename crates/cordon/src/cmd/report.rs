//! `cordon report`: the reports the law requires, from the federal request register in a
//! verified log, as report.html and report.csv.

use anyhow::{Context, Result};
use cordon_register::{Period, Report, ReportKind};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub command: ReportCommand,
}

#[derive(clap::Subcommand)]
pub enum ReportCommand {
    /// Illinois TRUST Act annual report to the Attorney General (5 ILCS 805/25), due March 1.
    TrustAct {
        /// The calendar year, YYYY.
        #[arg(long)]
        year: String,
        #[command(flatten)]
        common: Common,
    },
    /// Chicago Welcoming City Ordinance quarterly report to the Mayor and the Inspector General.
    ChicagoQuarterly {
        /// The quarter, YYYYQN (e.g. 2026Q1).
        #[arg(long)]
        quarter: String,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(clap::Args)]
pub struct Common {
    /// The log directory holding the register.
    #[arg(long)]
    log: PathBuf,
    /// The log's verifier key or a file holding it (default: the key recorded in the log).
    #[arg(long)]
    vkey: Option<String>,
    /// Where to write report.html and report.csv.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: ReportArgs) -> Result<ExitCode> {
    let (kind, period, common) = match args.command {
        ReportCommand::TrustAct { year, common } => {
            (ReportKind::TrustAct, Period::parse_year(&year)?, common)
        }
        ReportCommand::ChicagoQuarterly { quarter, common } => (
            ReportKind::ChicagoQuarterly,
            Period::parse_quarter(&quarter)?,
            common,
        ),
    };
    write(
        kind,
        period,
        &common.log,
        common.vkey.as_deref(),
        &common.out,
    )
}

fn write(
    kind: ReportKind,
    period: Period,
    log: &Path,
    vkey: Option<&str>,
    out: &Path,
) -> Result<ExitCode> {
    let verifier = super::requests::vkey_for(log, vkey)?;
    let report = Report::build(log, &verifier, kind, period)
        .with_context(|| format!("making the {period} report from {}", log.display()))?;
    let (html, csv) = report.write(out)?;
    let t = &report.totals;
    println!(
        "{period}: {} requests ({} detainers, {} civil warrants, {} requests for assistance, {} judicial); {} declined, {} complied; totals agree with the log",
        t.requests, t.detainers, t.civil_warrants, t.assistance_requests, t.judicial, t.declined, t.complied
    );
    if report.is_none_received() {
        println!("certification: no detainer, civil warrant or request for assistance received in {period}");
    }
    println!("wrote {} and {}", html.display(), csv.display());
    Ok(ExitCode::SUCCESS)
}
