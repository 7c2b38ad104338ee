//! `cordon log bench`: durable appends/s, latencies and verification, beside baselines.
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

#[derive(Args)]
pub struct BenchArgs {}

pub fn run(_args: BenchArgs) -> Result<ExitCode> {
    anyhow::bail!("benchmarks are not built yet")
}
