//! The seeded workload a simulation runs: what is appended, when the log integrates and
//! restarts, which faults strike before the power cut, and how the power loss behaves.
use super::Rng;
use crate::storage::{Fault, PowerLoss};

/// One thing the workload does.
#[derive(Clone, Debug)]
pub enum Step {
    /// Appenders submit these entries: the first alone, then all the others at once,
    /// while the sequencer is busy with the first, so they make one group commit.
    Append(Vec<Vec<u8>>),
    /// Ask for an integration round now and wait for it.
    Checkpoint,
    /// Close the log (as a process stopping cleanly does) and open it again.
    Restart,
}

/// Everything a seed decides.
#[derive(Clone, Debug)]
pub struct Workload {
    pub steps: Vec<Step>,
    /// Faults before the power cut, each at a fraction (per mille) of the way through.
    pub faults: Vec<(u64, Fault)>,
    pub loss: PowerLoss,
    pub segment_bytes: u64,
    /// After the first power cut: cut it again at this operation of the recovery, then
    /// recover once more.
    pub second_crash: Option<u64>,
    /// Entries the recovery appends (and then integrates) before any second crash.
    pub recovery_appends: Vec<Vec<u8>>,
}

impl Workload {
    pub fn new(seed: u64) -> Workload {
        let mut rng = Rng::new(seed);
        let mut steps = Vec::new();
        let mut n = 0u64;
        for _ in 0..rng.range(4, 10) {
            let mut batch = Vec::new();
            for _appender in 0..rng.range(1, 4) {
                for _ in 0..rng.range(1, 5) {
                    batch.push(entry(&mut rng, seed, &mut n));
                }
            }
            if rng.chance(1, 6) {
                // Enough to fill a tile: full tiles replace partials, segments retire.
                for _ in 0..rng.range(100, 300) {
                    batch.push(entry(&mut rng, seed, &mut n));
                }
            }
            steps.push(Step::Append(batch));
            if rng.chance(2, 3) {
                steps.push(Step::Checkpoint);
            }
            if rng.chance(1, 8) {
                steps.push(Step::Restart);
            }
        }
        let faults = if rng.chance(1, 3) {
            Vec::new()
        } else {
            (0..rng.range(1, 3))
                .map(|_| {
                    let kind = match rng.below(3) {
                        0 => Fault::Eio,
                        1 => Fault::NoSpace,
                        _ => Fault::ShortWrite,
                    };
                    (rng.below(1000), kind)
                })
                .collect()
        };
        let loss = if rng.chance(1, 2) {
            PowerLoss::Strict
        } else {
            PowerLoss::Partial(rng.next_u64())
        };
        let segment_bytes = rng.range(256, 4096);
        let second_crash = rng.chance(1, 4).then(|| rng.below(80));
        let recovery_appends = (0..rng.range(1, 4))
            .map(|_| entry(&mut rng, seed, &mut n))
            .collect();
        Workload {
            steps,
            faults,
            loss,
            segment_bytes,
            second_crash,
            recovery_appends,
        }
    }
}

impl Workload {
    /// The workload in a line: steps (appends by entry count), faults, the power loss.
    pub fn summary(&self) -> String {
        let steps: Vec<String> = self
            .steps
            .iter()
            .map(|s| match s {
                Step::Append(e) => format!("append {}", e.len()),
                Step::Checkpoint => "checkpoint".into(),
                Step::Restart => "restart".into(),
            })
            .collect();
        format!(
            "steps [{}]; faults (per mille, kind) {:?}; {:?}; segments of {} bytes; second crash {:?}",
            steps.join(", "),
            self.faults,
            self.loss,
            self.segment_bytes,
            self.second_crash
        )
    }
}

/// A distinct entry: the seed and a serial number, then filler of a random length.
fn entry(rng: &mut Rng, seed: u64, n: &mut u64) -> Vec<u8> {
    let mut e = format!("{seed:016x}/{n}:").into_bytes();
    *n += 1;
    let len = if rng.chance(1, 20) {
        rng.range(200, 1500)
    } else {
        rng.below(100)
    };
    e.extend((0..len).map(|_| b'a' + rng.below(26) as u8));
    e
}
