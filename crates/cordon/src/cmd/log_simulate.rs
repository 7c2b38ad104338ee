//! `cordon log simulate`: the deterministic crash simulation of the file log, for as many
//! crashes as you have time for, and the replay of one failing case.
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use cordon_log::simulate::{self, SimOptions, SimReport};

#[derive(Args)]
pub struct SimulateArgs {
    /// Power cuts to simulate (each followed by a reopen and a full check).
    #[arg(long, default_value_t = 100_000)]
    crashes: u64,
    /// The run's seed (decimal or 0x-hex); the same seed runs the same workloads.
    #[arg(long, default_value = "1", value_parser = parse_u64)]
    seed: u64,
    /// Workloads run at once (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Stop starting workloads after this many seconds.
    #[arg(long)]
    seconds: Option<u64>,
    /// Replay one case from a failure message: WORKLOAD_SEED:CRASH_POINT.
    #[arg(long, conflicts_with_all = ["crashes", "seed", "threads", "seconds"])]
    replay: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

fn parse_u64(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let parsed = match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse(),
    };
    parsed.map_err(|_| format!("{s:?} is not a number (decimal, or hex with 0x)"))
}

pub fn run(args: SimulateArgs) -> Result<ExitCode> {
    if let Some(case) = &args.replay {
        return replay(case);
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let opts = SimOptions {
        seed: args.seed,
        crashes: args.crashes,
        threads,
        deadline: args.seconds.map(Duration::from_secs),
    };
    let json = args.json;
    let result = simulate::run_with(&opts, |r| {
        if !json {
            eprint!(
                "\r{} crashes, {} workloads, {:.0} s",
                r.crashes,
                r.workloads,
                r.elapsed.as_secs_f64()
            );
            let _ = std::io::stderr().flush();
        }
    });
    if !json {
        eprintln!();
    }
    match result {
        Ok(r) => {
            print_report(&r, &opts, json);
            if r.crashes < opts.crashes {
                eprintln!(
                    "stopped at the time limit after {} of {} crashes",
                    r.crashes, opts.crashes
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(f) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"ok": false, "seed": opts.seed, "workload_seed": f.seed,
                        "crash_at": f.crash_at, "error": f.what})
                );
            } else {
                eprintln!("FAIL (run seed {:#x}): {f}", opts.seed);
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

fn print_report(r: &SimReport, opts: &SimOptions, json: bool) {
    let per_s = r.crashes as f64 / r.elapsed.as_secs_f64().max(1e-9);
    if json {
        println!(
            "{}",
            serde_json::json!({"ok": true, "seed": opts.seed, "crashes": r.crashes,
                "workloads": r.workloads, "second_crashes": r.second_crashes,
                "faults": r.faults, "acknowledged_checked": r.acknowledged_checked,
                "max_ops_per_workload": r.max_ops, "seconds": r.elapsed.as_secs_f64(),
                "crashes_per_second": per_s, "threads": opts.threads})
        );
    } else {
        println!(
            "OK: {} simulated power cuts over {} workloads (seed {:#x}), {} of them again during recovery; \
             {} injected faults; {} acknowledged entries found at their index after the crashes; \
             {:.1} s ({per_s:.0} crashes/s on {} threads)",
            r.crashes,
            r.workloads,
            opts.seed,
            r.second_crashes,
            r.faults,
            r.acknowledged_checked,
            r.elapsed.as_secs_f64(),
            opts.threads
        );
    }
}

fn replay(case: &str) -> Result<ExitCode> {
    let Some((seed, at)) = case.split_once(':') else {
        bail!("--replay takes WORKLOAD_SEED:CRASH_POINT as a failure message prints it, e.g. 0x1f2e:57");
    };
    let seed = parse_u64(seed)
        .map_err(anyhow::Error::msg)
        .context("--replay")?;
    let at = parse_u64(at)
        .map_err(anyhow::Error::msg)
        .context("--replay")?;
    match simulate::replay(seed, at) {
        Ok(o) => {
            println!(
                "OK: workload {seed:#x} with the power cut at operation {at}: {} acknowledged entries all present, the recovered log of {} entries verifies{}",
                o.acknowledged,
                o.recovered_size,
                if o.second_crash { " (after a second cut during recovery)" } else { "" }
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(f) => {
            eprintln!("FAIL: {f}");
            Ok(ExitCode::FAILURE)
        }
    }
}
