//! `cordon policy`: check, test and evaluate policy packs.
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct PolicyArgs {}

pub fn run(_args: PolicyArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("policy packs are not built yet")
}
