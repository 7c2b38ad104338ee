//! Crash safety: `cordon log append` killed with SIGKILL at random instants, again and
//! again, never loses an acknowledged entry, and the log always reopens and verifies; each
//! recovery accounts for every entry acknowledged before the kill.
//!
//! A killed process's page cache survives, so this cannot catch a missing fsync: the
//! simulated power losses of `cordon_log::simulate` (tests/crash_simulation.rs in the log
//! crate) do.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test, with its message
mod common;
use common::*;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A small deterministic generator: the seed is printed, so a failure can be replayed.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// One writer run: stream lines in, read receipts out, SIGKILL after `delay`.
/// Returns the acknowledged (index, entry) pairs and the writer's stderr.
fn append_until_killed(dir: &str, run_id: usize, delay: Duration) -> (Vec<(u64, String)>, String) {
    let mut child = cordon()
        .args(["log", "append", dir])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let writer = std::thread::spawn(move || {
        for chunk in 0.. {
            let lines: String = (0..32)
                .map(|k| format!("run {run_id} line {}\n", chunk * 32 + k))
                .collect();
            if stdin.write_all(lines.as_bytes()).is_err() {
                break;
            }
            // A steady stream rather than a flood, so that integration keeps up and kills
            // land in every phase: sequencing, tile writing, checkpoint signing, recovery.
            std::thread::sleep(Duration::from_micros(500));
        }
    });
    let reader = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .map(|l| l.parse::<u64>().expect("append prints one index per line"))
            .collect::<Vec<u64>>()
    });
    let errs = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
        s
    });
    std::thread::sleep(delay);
    child.kill().unwrap();
    child.wait().unwrap();
    writer.join().unwrap();
    let indices = reader.join().unwrap();
    // Receipts are printed in input order: the k-th receipt is for the k-th line.
    let acked = indices
        .into_iter()
        .enumerate()
        .map(|(k, idx)| (idx, format!("run {run_id} line {k}")))
        .collect();
    (acked, errs.join().unwrap())
}

#[test]
fn kill_9_mid_append_never_loses_an_acknowledged_entry() {
    let runs: usize = std::env::var("CORDON_CRASH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("crash test seed {seed}, {runs} runs");
    let mut rng = Rng(seed);
    let tmp = tempfile::tempdir().unwrap();
    let (dir, vkey) = make_log(tmp.path(), "log", 0);
    let d = dir.to_str().unwrap();
    let v = cordon_log::Verifier::parse(&vkey).unwrap();
    let mut acked: BTreeMap<u64, String> = BTreeMap::new();
    let mut runs_with_acks = 0;
    let mut recoveries = 0;
    for run_id in 0..runs {
        // What the killed writer left under a checkpoint; recovery must account for the
        // rest of what it acknowledged.
        let signed = cordon_log::read_checkpoint(&dir, &v)
            .unwrap()
            .checkpoint
            .size;
        let delay = Duration::from_millis(5 + rng.below(300));
        let (got, stderr) = append_until_killed(d, run_id, delay);
        assert!(!stderr.contains("panicked"), "run {run_id}: {stderr}");
        let requeued = recovered_count(&stderr);
        if requeued > 0 {
            recoveries += 1;
        }
        if let Some(&(first, _)) = got.first() {
            // The writer opened (it acknowledged something), so `requeued` is what its
            // recovery found: every entry acknowledged before the kill is either under the
            // checkpoint or re-queued, and the first new index follows all of them.
            let must_hold = acked.keys().next_back().map_or(0, |i| i + 1);
            assert!(
                signed + requeued >= must_hold,
                "run {run_id}: the checkpoint holds {signed} entries and recovery re-queued {requeued}, \
                 but {must_hold} were acknowledged\n{stderr}"
            );
            assert_eq!(
                first,
                signed + requeued,
                "run {run_id}: the first index after recovery is not the checkpoint's size plus what was re-queued"
            );
            runs_with_acks += 1;
        }
        for (idx, entry) in got {
            assert!(
                acked.insert(idx, entry).is_none(),
                "index {idx} acknowledged twice"
            );
        }
    }
    assert!(
        runs_with_acks >= runs / 2,
        "only {runs_with_acks} of {runs} runs got any receipt"
    );
    if runs >= 20 {
        // Kills land while entries wait for the next checkpoint far more often than not.
        assert!(recoveries > 0, "no run had to re-queue durable entries");
    }
    eprintln!(
        "{} acknowledged entries; {recoveries} runs recovered un-integrated entries",
        acked.len()
    );

    // Reopen once more with nothing to add: recovery integrates whatever was durable.
    let o = run(&["log", "append", d], b"");
    assert!(o.status.success(), "{}", text(&o));
    let o = run(&["log", "verify", d, "--vkey", &vkey], b"");
    assert!(o.status.success(), "{}", text(&o));

    let size = cordon_log::read_checkpoint(&dir, &v)
        .unwrap()
        .checkpoint
        .size;
    let mut bundle: Option<(u64, Vec<Vec<u8>>)> = None;
    for (idx, entry) in &acked {
        assert!(
            *idx < size,
            "acknowledged index {idx} is beyond the checkpoint ({size})"
        );
        let t = idx / 256;
        if bundle.as_ref().map(|b| b.0) != Some(t) {
            bundle = Some((t, read_bundle(&dir, size, t)));
        }
        let got = &bundle.as_ref().unwrap().1[(idx % 256) as usize];
        assert_eq!(String::from_utf8_lossy(got), *entry, "entry at index {idx}");
    }
}

/// N from `cordon log append`'s "recovered N durable entries not yet under a checkpoint".
fn recovered_count(stderr: &str) -> u64 {
    stderr
        .lines()
        .find_map(|l| {
            l.strip_prefix("recovered ")?
                .split(' ')
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

fn read_bundle(dir: &std::path::Path, size: u64, t: u64) -> Vec<Vec<u8>> {
    let id = cordon_log::tile::bundle_in_tree(size, t).unwrap();
    let (_, data) = cordon_log::fs::read_tile_file(dir, id, size).unwrap();
    cordon_log::bundle::decode(&data)
        .unwrap()
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect()
}
