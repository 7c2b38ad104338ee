//! `cordon log`: the log's command line.
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct LogArgs {}

pub fn run(_args: LogArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not built yet")
}
