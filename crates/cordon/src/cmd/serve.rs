//! `cordon serve`: run the gateway from a TOML config.
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ServeArgs {}

pub fn run(_args: ServeArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("the gateway is not built yet")
}
