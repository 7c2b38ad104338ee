//! The deterministic crash simulation (`cordon_log::simulate`): seeded workloads on a
//! simulated disk, the power cut at every one of their disk operations, and after each cut
//! every acknowledged entry present and the log verifying.
//!
//! CI runs at least 10,000 crashes. `CORDON_SIM_CRASHES` and `CORDON_SIM_SEED` run more or
//! others; `cordon log simulate` runs millions in a release build.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test, with its message
use std::time::Duration;

use cordon_log::simulate::{self, SimOptions};

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

#[test]
fn every_acknowledged_entry_survives_a_power_cut_at_every_disk_operation() {
    let crashes = env_u64("CORDON_SIM_CRASHES").unwrap_or(10_000);
    let seed = env_u64("CORDON_SIM_SEED").unwrap_or(0xC0_4D0A);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let opts = SimOptions {
        seed,
        crashes,
        threads,
        // A time cap for CI: a machine too slow to reach the count fails below, loudly.
        deadline: Some(Duration::from_secs(600)),
    };
    let report = simulate::run(&opts).unwrap_or_else(|f| panic!("{f}"));
    eprintln!("seed {seed:#x}: {report:?}");
    assert!(
        report.crashes >= crashes,
        "only {} of {crashes} crashes within the time cap",
        report.crashes
    );
    assert!(
        report.second_crashes > 0,
        "no crash during recovery was simulated"
    );
    assert!(report.faults > 0, "no EIO, ENOSPC or short write fired");
    assert!(report.acknowledged_checked > 0);
}
