//! `cordon log query`: audit questions over a shared log's private decision index in
//! PostgreSQL (which decisions, by which agency or officer, in which period).
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use cordon_log::pg::{connect, decisions, DecisionQuery};

#[derive(Args)]
pub struct QueryArgs {
    /// The log's database, e.g. `postgresql://cordon_audit@127.0.0.1/cordon`.
    #[arg(long)]
    pg: String,
    /// Decisions at or after this time (RFC 3339, e.g. 2026-01-01T00:00:00Z).
    #[arg(long)]
    since: Option<String>,
    /// Decisions before this time (RFC 3339).
    #[arg(long)]
    until: Option<String>,
    /// Only this agency (as in the pack's registry, e.g. `cpd`).
    #[arg(long)]
    agency: Option<String>,
    /// Only this principal (officer or service identity).
    #[arg(long)]
    principal: Option<String>,
    /// Only `allow` or `deny`.
    #[arg(long, value_parser = ["allow", "deny"])]
    decision: Option<String>,
    /// Only this dataset.
    #[arg(long)]
    dataset: Option<String>,
    /// Most rows to print, oldest first.
    #[arg(long, default_value_t = 1000)]
    limit: u64,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: QueryArgs) -> Result<ExitCode> {
    let mut client = connect(&args.pg, "cordon log query")
        .with_context(|| "connecting to the log's database (check --pg)".to_string())?;
    let q = DecisionQuery {
        since: args.since,
        until: args.until,
        agency: args.agency,
        principal: args.principal,
        decision: args.decision,
        dataset: args.dataset,
        limit: args.limit,
    };
    let rows = decisions(&mut client, &q)?;
    for d in &rows {
        if args.json {
            let v = serde_json::json!({
                "index": d.index, "time": d.time, "agency": d.agency, "principal": d.principal,
                "decision": d.decision, "dataset": d.dataset,
            });
            println!("{v}");
        } else {
            let dash = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".into());
            println!(
                "{}\t{}\t{}\t{}\t{}\t{}",
                d.index,
                d.time,
                d.decision,
                dash(&d.agency),
                dash(&d.principal),
                dash(&d.dataset)
            );
        }
    }
    eprintln!(
        "{} decisions{}; each index is an entry in the log (`cordon log prove TILE_DIR --index N`)",
        rows.len(),
        if rows.len() as u64 == args.limit {
            " (the limit; raise --limit for more)"
        } else {
            ""
        }
    );
    Ok(ExitCode::SUCCESS)
}
