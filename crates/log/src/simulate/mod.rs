//! Deterministic crash simulation of the file log, in the manner of FoundationDB's and
//! TigerBeetle's simulation testing: a seeded workload (several appenders' batches,
//! integrations, restarts, injected `EIO`/`ENOSPC`/short writes) runs on a [`SimDisk`],
//! the power is cut at every one of its disk operations in turn, and after each cut the
//! log is reopened on what survived and checked: it opens, it verifies from scratch, and
//! every entry whose append was acknowledged is at its index with its bytes.
//!
//! The same seed always gives the same workload, the same operations in the same order
//! and the same outcome, so any failure names the seed and crash point that replay it.
//!
//! ```sh
//! cargo test -p cordon-log --test crash_simulation             # CI: 10,000+ crashes
//! CORDON_SIM_CRASHES=200000 CORDON_SIM_SEED=0x2a \
//!   cargo test -p cordon-log --test crash_simulation           # more, or other seeds
//! cordon log simulate --crashes 1000000 --seed 7              # as many as you like
//! cordon log simulate --replay 0x1234abcd:57                  # one failing case
//! ```
//!
//! Each crash re-runs its workload up to the cut on a fresh disk, so the cost is in
//! threads waking, not in disk operations: measured on the CI machine's kind (2 cores,
//! other builds running), the test profile (this crate at opt-level 2) checks 400 to 550
//! crashes a second, so CI's 10,000 take about 20 s and a million under an hour.
//!
//! [`SimDisk`]: crate::storage::SimDisk
mod life;
mod workload;

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub use life::{CrashOutcome, Trial};
pub use workload::Workload;

/// A small, fast, seeded generator (SplitMix64): the simulation needs the same numbers
/// from the same seed everywhere, not cryptographic quality.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }

    /// True `num` times in `den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }
}

/// What to run.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// Workload `i` has the seed derived from `seed` and `i`.
    pub seed: u64,
    /// Run workloads until at least this many crashes have been checked.
    pub crashes: u64,
    /// Workloads run at once, each on its own simulated disk.
    pub threads: usize,
    /// Start no new workload after this long (a time cap for CI); `None` for no cap.
    pub deadline: Option<Duration>,
}

/// What a run checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SimReport {
    /// Power cuts, each followed by a reopen and a full check.
    pub crashes: u64,
    pub workloads: u64,
    /// Crashes where an entry was also cut a second time, while recovering.
    pub second_crashes: u64,
    /// `EIO`, `ENOSPC` and short writes injected before the power cut, in all runs.
    pub faults: u64,
    /// Acknowledged entries found at their index after a crash, summed over crashes.
    pub acknowledged_checked: u64,
    /// The most disk operations one workload performed.
    pub max_ops: u64,
    pub elapsed: Duration,
}

/// A crash after which the log lost an acknowledged entry, failed to open or to verify,
/// or hung. Names the workload seed and crash point that replay it.
#[derive(Clone, Debug)]
pub struct SimFailure {
    pub seed: u64,
    pub crash_at: u64,
    pub what: String,
    /// The faults that fired, and the workload, for whoever debugs it.
    pub detail: String,
}

impl fmt::Display for SimFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cut = if self.crash_at == u64::MAX {
            "no power cut (the run that counts the operations)".to_string()
        } else {
            format!("power cut at disk operation {}", self.crash_at)
        };
        write!(
            f,
            "workload seed {:#x}, {cut}: {}\nreplay: cordon log simulate --replay {:#x}:{}\n{}",
            self.seed, self.what, self.seed, self.crash_at, self.detail
        )
    }
}

impl std::error::Error for SimFailure {}

/// The seed of workload `i` of a run seeded with `seed`.
pub fn workload_seed(seed: u64, i: u64) -> u64 {
    Rng::new(seed ^ i.wrapping_mul(0xA24B_AED4_963E_E407)).next_u64()
}

/// Runs workloads, cutting the power at every disk operation of each, until at least
/// `opts.crashes` crashes have been checked; stops at the first failure.
pub fn run(opts: &SimOptions) -> Result<SimReport, SimFailure> {
    run_with(opts, |_| {})
}

/// [`run`], calling `progress` with the running totals after each workload.
pub fn run_with(
    opts: &SimOptions,
    progress: impl Fn(&SimReport) + Sync,
) -> Result<SimReport, SimFailure> {
    let started = Instant::now();
    let out_of_time = || opts.deadline.is_some_and(|d| started.elapsed() >= d);
    let next = AtomicU64::new(0);
    let crashes = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let total = Mutex::new(SimReport::default());
    let failure: Mutex<Option<SimFailure>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..opts.threads.max(1) {
            s.spawn(|| {
                while !stop.load(Ordering::SeqCst)
                    && crashes.load(Ordering::SeqCst) < opts.crashes
                    && !out_of_time()
                {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    match run_workload(workload_seed(opts.seed, i), &stop) {
                        Ok(r) => {
                            crashes.fetch_add(r.crashes, Ordering::SeqCst);
                            let mut t = total.lock().unwrap_or_else(|p| p.into_inner());
                            merge(&mut t, &r);
                            t.elapsed = started.elapsed();
                            progress(&t);
                        }
                        Err(f) => {
                            stop.store(true, Ordering::SeqCst);
                            failure
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .get_or_insert(f);
                        }
                    }
                }
            });
        }
    });
    if let Some(f) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(f);
    }
    let mut report = total.into_inner().unwrap_or_else(|p| p.into_inner());
    report.elapsed = started.elapsed();
    Ok(report)
}

fn merge(total: &mut SimReport, r: &SimReport) {
    total.crashes += r.crashes;
    total.workloads += r.workloads;
    total.second_crashes += r.second_crashes;
    total.faults += r.faults;
    total.acknowledged_checked += r.acknowledged_checked;
    total.max_ops = total.max_ops.max(r.max_ops);
}

/// One workload: a run without a crash to count its disk operations, then a power cut at
/// each of them (and one after the last).
pub fn run_workload(seed: u64, stop: &AtomicBool) -> Result<SimReport, SimFailure> {
    let trial = Trial::new(seed)?;
    let ops = trial.count_ops()?;
    let mut report = SimReport {
        workloads: 1,
        max_ops: ops,
        ..SimReport::default()
    };
    for crash_at in 0..=ops {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let out = trial.crash_at(crash_at)?;
        report.crashes += 1;
        report.second_crashes += u64::from(out.second_crash);
        report.faults += out.faults;
        report.acknowledged_checked += out.acknowledged;
    }
    Ok(report)
}

/// Replays one crash of one workload, as a failure message names it.
pub fn replay(seed: u64, crash_at: u64) -> Result<CrashOutcome, SimFailure> {
    Trial::new(seed)?.crash_at(crash_at)
}
