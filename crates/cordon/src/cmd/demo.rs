//! `cordon demo`: the one-command tour.
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct DemoArgs {}

pub fn run(_args: DemoArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("the gateway demo is not built yet; try `cordon log demo`")
}
