//! One simulated life of a log: run a workload on a fresh simulated disk until the power
//! is cut at a given operation, maybe cut it again while recovering, then reopen on what
//! survived and check that the log opens, verifies, and holds every acknowledged entry.
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::workload::{Step, Workload};
use super::{Rng, SimFailure};
use crate::bundle;
use crate::error::AppendError;
use crate::fs::read_tile_file_on;
use crate::keys::Signer;
use crate::log::{create_on, Log, LogConfig, PendingAppend, Receipt};
use crate::storage::{Fault, FaultyDisk, SimDisk};
use crate::tile::{bundle_in_tree, TILE_WIDTH};
use crate::verify::verify_dir_on;

const ROOT: &str = "/log";
/// Longest any one step may take before the run counts as hung.
const STEP_LIMIT: Duration = Duration::from_secs(60);
/// Long enough that integration runs only when the workload asks (or at close), so the
/// order of disk operations is the same on every run of a seed.
const NEVER: Duration = Duration::from_secs(24 * 3600);

/// What one crash run found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CrashOutcome {
    /// Acknowledged entries, all found at their index after recovery.
    pub acknowledged: u64,
    /// Faults (other than power cuts) that fired before the crash.
    pub faults: u64,
    /// Whether the power was cut a second time, during recovery.
    pub second_crash: bool,
    /// The size of the checkpoint after the final recovery.
    pub recovered_size: u64,
}

/// A workload with its faults placed at operation numbers.
pub struct Trial {
    pub seed: u64,
    pub workload: Workload,
    faults: Vec<(u64, Fault)>,
    signer: Signer,
}

/// Entries acknowledged so far, by index.
type Acked = BTreeMap<u64, Vec<u8>>;

impl Trial {
    /// Places the workload's faults at their fraction of a fault-free run's operations.
    pub fn new(seed: u64) -> Result<Trial, SimFailure> {
        let workload = Workload::new(seed);
        let mut seed_bytes = [0u8; 32];
        let mut rng = Rng::new(seed);
        for chunk in seed_bytes.chunks_mut(8) {
            chunk.copy_from_slice(&rng.next_u64().to_le_bytes());
        }
        let signer =
            Signer::from_test_seed("sim.example/log", seed_bytes).map_err(|e| SimFailure {
                seed,
                crash_at: 0,
                what: format!("no signer: {e}"),
                detail: String::new(),
            })?;
        let mut trial = Trial {
            seed,
            workload,
            faults: Vec::new(),
            signer,
        };
        let clean = trial.first_life(None)?.ops;
        trial.faults = trial
            .workload
            .faults
            .iter()
            .map(|&(permille, f)| (permille * clean / 1000, f))
            .collect();
        Ok(trial)
    }

    /// The disk operations the workload performs, faults included, without a crash.
    pub fn count_ops(&self) -> Result<u64, SimFailure> {
        Ok(self.first_life(None)?.ops)
    }

    /// Cuts the power at operation `crash_at` (or after the workload, if it has fewer),
    /// recovers (perhaps through a second cut), and checks the log.
    pub fn crash_at(&self, crash_at: u64) -> Result<CrashOutcome, SimFailure> {
        let fail = |what: String, detail: String| SimFailure {
            seed: self.seed,
            crash_at,
            what,
            detail: format!("{detail}\nworkload: {}", self.workload.summary()),
        };
        let life = self.first_life(Some(crash_at))?;
        let mut acked = life.acked;
        let sim = life.sim;
        let mut out = CrashOutcome {
            faults: life.faults,
            ..CrashOutcome::default()
        };
        sim.power_loss(self.workload.loss);
        if let Some(at) = self.workload.second_crash {
            let disk = FaultyDisk::new(Arc::new(sim.clone()), self.seed ^ 1);
            disk.inject_at(at, Fault::PowerCut);
            let steps = [
                Step::Append(self.workload.recovery_appends.clone()),
                Step::Checkpoint,
            ];
            run_steps(&disk, &self.signer, &self.config(&disk), &steps, &mut acked)
                .map_err(|e| fail(format!("while recovering: {e}"), hits(&disk)))?;
            out.second_crash = disk.hits().iter().any(|h| h.contains("PowerCut"));
            sim.power_loss(self.workload.loss);
        }
        let size = self
            .check(&sim, &acked)
            .map_err(|e| fail(e, format!("files:{}", sim.describe())))?;
        out.acknowledged = acked.len() as u64;
        out.recovered_size = size;
        Ok(out)
    }

    fn config(&self, disk: &FaultyDisk) -> LogConfig {
        LogConfig {
            segment_bytes: self.workload.segment_bytes,
            checkpoint_interval: NEVER,
            storage: Arc::new(disk.clone()),
            ..LogConfig::default()
        }
    }

    /// A fresh log on a fresh disk, the workload until the power is cut at `crash_at` (or
    /// after its last step).
    fn first_life(&self, crash_at: Option<u64>) -> Result<Life, SimFailure> {
        let fail = |what: String, detail: String| SimFailure {
            seed: self.seed,
            crash_at: crash_at.unwrap_or(u64::MAX),
            what,
            detail: format!("{detail}\nworkload: {}", self.workload.summary()),
        };
        let sim = SimDisk::new();
        create_on(&sim, Path::new(ROOT), &self.signer)
            .map_err(|e| fail(format!("creating the log: {e}"), String::new()))?;
        let disk = FaultyDisk::new(Arc::new(sim.clone()), self.seed);
        for &(op, f) in &self.faults {
            disk.inject_at(op, f);
        }
        if let Some(k) = crash_at {
            disk.inject_at(k, Fault::PowerCut);
        }
        let mut acked = Acked::new();
        run_steps(
            &disk,
            &self.signer,
            &self.config(&disk),
            &self.workload.steps,
            &mut acked,
        )
        .map_err(|e| fail(e, hits(&disk)))?;
        let faults = disk
            .hits()
            .iter()
            .filter(|h| !h.contains("PowerCut"))
            .count() as u64;
        Ok(Life {
            sim,
            acked,
            ops: disk.ops(),
            faults,
        })
    }

    /// Opens the log on what survived, integrates everything, verifies it from scratch,
    /// and finds every acknowledged entry at its index. Returns the checkpoint's size.
    fn check(&self, sim: &SimDisk, acked: &Acked) -> Result<u64, String> {
        let root = Path::new(ROOT);
        let config = LogConfig {
            segment_bytes: self.workload.segment_bytes,
            storage: Arc::new(sim.clone()),
            ..LogConfig::default()
        };
        let (log, _) = Log::open(root, self.signer.clone(), config)
            .map_err(|e| format!("the log does not open after the crash: {e}"))?;
        let cp = log
            .close()
            .map_err(|e| format!("the recovered log does not close cleanly: {e}"))?;
        let size = cp.checkpoint.size;
        let report = verify_dir_on(sim, root, &self.signer.verifier())
            .map_err(|e| format!("the recovered log does not verify: {e}"))?;
        if report.size != size {
            return Err(format!(
                "verified size {} is not the checkpoint's {size}",
                report.size
            ));
        }
        let mut bundle: Option<(u64, Vec<Vec<u8>>)> = None;
        for (&index, want) in acked {
            if index >= size {
                return Err(format!(
                    "acknowledged entry {index} is missing: the recovered log holds {size}"
                ));
            }
            let t = index / TILE_WIDTH;
            if bundle.as_ref().map(|b| b.0) != Some(t) {
                bundle = Some((t, read_bundle(sim, size, t)?));
            }
            let entries = bundle.as_ref().map(|b| &b.1).ok_or("no bundle")?;
            let got = entries.get((index % TILE_WIDTH) as usize);
            if got != Some(want) {
                return Err(format!(
                    "acknowledged entry {index} is {:?} after recovery, not {:?}",
                    got.map(|g| String::from_utf8_lossy(g).into_owned()),
                    String::from_utf8_lossy(want)
                ));
            }
        }
        Ok(size)
    }
}

struct Life {
    sim: SimDisk,
    acked: Acked,
    ops: u64,
    faults: u64,
}

fn hits(disk: &FaultyDisk) -> String {
    format!("faults that fired: {:?}", disk.hits())
}

fn read_bundle(sim: &SimDisk, size: u64, t: u64) -> Result<Vec<Vec<u8>>, String> {
    let root = Path::new(ROOT);
    let id = bundle_in_tree(size, t).ok_or("tile arithmetic")?;
    let (path, data) = read_tile_file_on(sim, root, id, size).map_err(|e| e.to_string())?;
    let entries = bundle::decode(&data).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(entries.into_iter().map(<[u8]>::to_vec).collect())
}

/// Opens the log and runs `steps` until they end or the power is cut; then cuts it (a
/// crash, not a clean close) and lets the log's threads wind down. An `Err` is a broken
/// promise: a hang, a log that will not open on a working disk, an index acknowledged
/// twice.
fn run_steps(
    disk: &FaultyDisk,
    signer: &Signer,
    config: &LogConfig,
    steps: &[Step],
    acked: &mut Acked,
) -> Result<(), String> {
    let Some(mut log) = open(disk, signer, config)? else {
        return Ok(());
    };
    for step in steps {
        if !disk.powered() {
            break;
        }
        match step {
            Step::Append(entries) => append(&log, disk, entries, acked)?,
            Step::Checkpoint => {
                let started = Instant::now();
                if log.checkpoint_now(STEP_LIMIT).is_err() && started.elapsed() >= STEP_LIMIT {
                    return Err(format!("integration hung for {STEP_LIMIT:?}"));
                }
            }
            Step::Restart => {
                drop(log);
                match open(disk, signer, config)? {
                    Some(l) => log = l,
                    None => return Ok(()),
                }
            }
        }
    }
    disk.cut_power();
    drop(log);
    Ok(())
}

/// Opens the log, trying again after faults as an operator restarting it would; `None`
/// once the power is cut.
fn open(disk: &FaultyDisk, signer: &Signer, config: &LogConfig) -> Result<Option<Log>, String> {
    let mut last = String::new();
    for _ in 0..4 {
        match Log::open(Path::new(ROOT), signer.clone(), config.clone()) {
            Ok((log, _)) => return Ok(Some(log)),
            Err(_) if !disk.powered() => return Ok(None),
            Err(e) => last = e.to_string(),
        }
    }
    Err(format!(
        "the log does not open on a working disk after 4 tries: {last}"
    ))
}

/// Submits the first entry alone and, while the sequencer is held on its first disk
/// operation, all the others, so that they form one group commit; records the receipts.
fn append(
    log: &Log,
    disk: &FaultyDisk,
    entries: &[Vec<u8>],
    acked: &mut Acked,
) -> Result<(), String> {
    let Some((first, rest)) = entries.split_first() else {
        return Ok(());
    };
    disk.hold();
    let mut head = log.submit(first.clone());
    let deadline = Instant::now() + STEP_LIMIT;
    // A poisoned writer answers without touching the disk; then nothing is held.
    let mut head_outcome = None;
    while disk.waiting() == 0 {
        if let Some(r) = head.try_wait() {
            head_outcome = Some(r);
            break;
        }
        if Instant::now() >= deadline {
            disk.release();
            return Err("the sequencer neither wrote nor answered".into());
        }
        sleep(Duration::from_micros(20));
    }
    let mut waiting: Vec<(Vec<u8>, PendingAppend)> = rest
        .iter()
        .map(|e| (e.clone(), log.submit(e.clone())))
        .collect();
    disk.release();
    let mut outcomes = vec![(
        first.clone(),
        match head_outcome {
            Some(r) => r,
            None => settle(head, deadline)?,
        },
    )];
    for (e, p) in waiting.drain(..) {
        outcomes.push((e, settle(p, deadline)?));
    }
    for (entry, outcome) in outcomes {
        if let Ok(r) = outcome {
            record(acked, r, entry)?;
        }
    }
    Ok(())
}

fn settle(mut p: PendingAppend, deadline: Instant) -> Result<Result<Receipt, AppendError>, String> {
    loop {
        if let Some(r) = p.try_wait() {
            return Ok(r);
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "an append was neither acknowledged nor refused within {STEP_LIMIT:?}"
            ));
        }
        sleep(Duration::from_micros(20));
    }
}

fn record(acked: &mut Acked, r: Receipt, entry: Vec<u8>) -> Result<(), String> {
    if let Some(old) = acked.insert(r.index(), entry) {
        return Err(format!(
            "index {} acknowledged twice: first for {:?}; an acknowledged entry was lost",
            r.index(),
            String::from_utf8_lossy(&old)
        ));
    }
    Ok(())
}
