//! A failed or short write-ahead write never leaves a hole and never truncates acknowledged
//! data: the writer cuts the segment back to its last acknowledged byte (durably) and the
//! next batch follows it directly, or, if it cannot, refuses every append until reopened.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test, with its message
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use cordon_log::storage::{Fault, FaultyDisk, OpKind, PowerLoss, RealDisk, SimDisk, Storage};
use cordon_log::verify::{read_entry_on, verify_dir_on};
use cordon_log::wal::{list_segments, parse_records, torn_len};
use cordon_log::{create_on, AppendError, FaultSwitch, Log, LogConfig, Signer};

const ROOT: &str = "/log";

struct Sim {
    sim: SimDisk,
    disk: FaultyDisk,
    signer: Signer,
}

impl Sim {
    fn new() -> Sim {
        let sim = SimDisk::new();
        let signer = Signer::generate("test.example/log").unwrap();
        create_on(&sim, Path::new(ROOT), &signer).unwrap();
        let disk = FaultyDisk::new(Arc::new(sim.clone()), 1);
        Sim { sim, disk, signer }
    }

    fn open(&self) -> Log {
        let cfg = LogConfig {
            storage: Arc::new(self.disk.clone()),
            ..LogConfig::default()
        };
        Log::open(Path::new(ROOT), self.signer.clone(), cfg)
            .unwrap()
            .0
    }

    /// Cuts the power under a running log, lets it stop, and boots the disk again.
    fn power_loss(&self, log: Log) {
        self.disk.cut_power();
        drop(log);
        self.sim.power_loss(PowerLoss::Strict);
        self.disk.restore_power();
    }

    /// The entries recovery finds, after checking the log verifies and nothing was torn.
    fn recovered(&self) -> Vec<Vec<u8>> {
        let log = self.open();
        let size = log.close().unwrap().checkpoint.size;
        let root = Path::new(ROOT);
        assert_eq!(
            verify_dir_on(&self.sim, root, &self.signer.verifier())
                .unwrap()
                .size,
            size
        );
        (0..size)
            .map(|i| read_entry_on(&self.sim, root, size, i).unwrap())
            .collect()
    }
}

fn refused(r: Result<cordon_log::Receipt, AppendError>) -> String {
    match r {
        Err(AppendError::Storage(why)) => why,
        other => panic!("expected a storage refusal, got {other:?}"),
    }
}

/// Every record in every segment, and whether any segment has bytes after its last valid
/// record (a hole or a fragment) other than the zeros the writer lays down ahead.
fn wal_contents(disk: &dyn Storage, root: &Path) -> (Vec<Vec<u8>>, bool) {
    let wal = root.join(".cordon/wal");
    let mut all = Vec::new();
    let mut trailing = false;
    let segments = list_segments(disk, &wal).unwrap();
    let newest = segments.len().saturating_sub(1);
    for (i, seg) in segments.iter().enumerate() {
        let data = disk.read(&seg.path).unwrap();
        let (records, valid) = parse_records(&data);
        // Only the newest segment may end in zeros laid down ahead of its entries.
        trailing |= if i == newest {
            torn_len(&data, valid) != 0
        } else {
            valid != data.len()
        };
        all.extend(records.into_iter().map(<[u8]>::to_vec));
    }
    (all, trailing)
}

#[test]
fn a_short_write_then_more_appends_then_a_second_failure_lose_nothing_acknowledged() {
    let s = Sim::new();
    let log = s.open();
    assert_eq!(log.append(b"a".to_vec()).unwrap().index(), 0);
    assert_eq!(log.append(b"b".to_vec()).unwrap().index(), 1);

    // The disk takes part of the batch and is then full.
    s.disk.inject_next(OpKind::Append, Fault::ShortWrite);
    let why = refused(log.append(b"refused: short write".to_vec()));
    assert!(why.contains("write failed"), "{why}");
    assert_eq!(log.append(b"c".to_vec()).unwrap().index(), 2);
    assert_eq!(log.append(b"d".to_vec()).unwrap().index(), 3);

    // A second failure, after acknowledged appends that followed the first one.
    s.disk.inject_next(OpKind::Append, Fault::Eio);
    refused(log.append(b"refused: EIO".to_vec()));
    assert_eq!(log.append(b"e".to_vec()).unwrap().index(), 4);

    let (records, trailing) = wal_contents(&s.disk, Path::new(ROOT));
    assert_eq!(records, [&b"a"[..], b"b", b"c", b"d", b"e"]);
    assert!(
        !trailing,
        "a hole or fragment is left in the write-ahead segment"
    );

    s.power_loss(log);
    assert_eq!(s.recovered(), [&b"a"[..], b"b", b"c", b"d", b"e"]);
}

#[test]
fn a_failed_write_that_cannot_be_undone_stops_the_writer_until_reopened() {
    let s = Sim::new();
    let log = s.open();
    log.append(b"a".to_vec()).unwrap();
    s.disk.inject_next(OpKind::Append, Fault::NoSpace);
    s.disk.inject_next(OpKind::SetLen, Fault::Eio);
    let why = refused(log.append(b"refused".to_vec()));
    assert!(
        why.contains("cutting the partial write back off failed"),
        "{why}"
    );
    let why = refused(log.append(b"also refused".to_vec()));
    assert!(
        why.contains("refuses appends until it is reopened"),
        "{why}"
    );
    drop(log);

    let log = s.open();
    assert_eq!(log.append(b"b".to_vec()).unwrap().index(), 1);
    s.power_loss(log);
    assert_eq!(s.recovered(), [&b"a"[..], b"b"]);
}

#[test]
fn a_failed_fsync_stops_the_writer_and_recovery_keeps_what_was_acknowledged() {
    let s = Sim::new();
    let log = s.open();
    log.append(b"a".to_vec()).unwrap();
    s.disk.inject_next(OpKind::SyncData, Fault::Eio);
    let why = refused(log.append(b"refused".to_vec()));
    assert!(why.contains("fsync failed"), "{why}");
    refused(log.append(b"also refused".to_vec()));
    s.power_loss(log);
    assert_eq!(s.recovered(), [&b"a"[..]]);
}

#[test]
fn entries_recovered_from_the_page_cache_are_made_durable_before_new_ones_follow() {
    // An fsync fails after the write reached the page cache: the entry is not
    // acknowledged, but a restart without a power loss reads it back and gives it an index.
    // Recovery must fsync it before appending after it, or a later power loss leaves a gap
    // between segments and the log refuses to open with acknowledged entries behind it.
    let s = Sim::new();
    let log = s.open();
    log.append(b"a".to_vec()).unwrap();
    s.disk.inject_next(OpKind::SyncData, Fault::Eio);
    // The writer's attempt to cut the record off fails too, so it stays in the cache.
    s.disk.inject_next(OpKind::SetLen, Fault::Eio);
    refused(log.append(b"unacknowledged".to_vec()));
    drop(log);

    let log = s.open();
    let r = log.append(b"b".to_vec()).unwrap();
    assert_eq!(
        r.index(),
        2,
        "recovery took the unacknowledged entry at index 1"
    );
    s.power_loss(log);
    assert_eq!(s.recovered(), [&b"a"[..], b"unacknowledged", b"b"]);
}

fn real_log(dir: &Path, faults: FaultSwitch) -> (Log, Signer) {
    let signer = Signer::generate("test.example/log").unwrap();
    cordon_log::create(dir, &signer).unwrap();
    let cfg = LogConfig {
        faults,
        ..LogConfig::default()
    };
    (Log::open(dir, signer.clone(), cfg).unwrap().0, signer)
}

#[test]
fn on_the_real_disk_a_write_that_fails_part_way_leaves_no_hole() {
    let tmp = tempfile::tempdir().unwrap();
    let dir: PathBuf = tmp.path().join("log");
    let faults = FaultSwitch::default();
    let (log, signer) = real_log(&dir, faults.clone());
    log.append(b"a".to_vec()).unwrap();
    faults.fail_writes(true);
    let why = refused(log.append(b"written halfway, then refused".to_vec()));
    assert!(why.contains("injected storage fault after"), "{why}");
    faults.fail_writes(false);
    assert_eq!(log.append(b"b".to_vec()).unwrap().index(), 1);
    faults.fail_writes(true);
    refused(log.append(b"a second failure".to_vec()));
    faults.fail_writes(false);
    assert_eq!(log.append(b"c".to_vec()).unwrap().index(), 2);

    let (records, trailing) = wal_contents(&RealDisk, &dir);
    assert_eq!(records, [&b"a"[..], b"b", b"c"]);
    assert!(
        !trailing,
        "a hole or fragment is left in the write-ahead segment"
    );
    drop(log);

    let (log, rec) = Log::open(&dir, signer.clone(), LogConfig::default()).unwrap();
    assert_eq!(rec.torn_bytes, 0);
    assert_eq!(rec.requeued, 0, "closing integrated everything");
    assert_eq!(log.close().unwrap().checkpoint.size, 3);
    let size = cordon_log::verify::verify_dir(&dir, &signer.verifier())
        .unwrap()
        .size;
    let entries: Vec<Vec<u8>> = (0..size)
        .map(|i| cordon_log::verify::read_entry(&dir, size, i).unwrap())
        .collect();
    assert_eq!(entries, [&b"a"[..], b"b", b"c"]);
}

#[test]
fn a_full_queue_is_refused_at_once_and_a_stalled_disk_holds_appends_until_released() {
    let s = Sim::new();
    let cfg = LogConfig {
        storage: Arc::new(s.disk.clone()),
        queue_depth: 2,
        ..LogConfig::default()
    };
    let (log, _) = Log::open(Path::new(ROOT), s.signer.clone(), cfg).unwrap();
    s.disk.hold();
    let mut first = log.try_submit(b"first".to_vec()).unwrap();
    while s.disk.waiting() == 0 {
        std::thread::sleep(Duration::from_millis(1));
    }
    // The sequencer is stuck on the disk with the first entry; two more fill the queue.
    let queued: Vec<_> = (0..2)
        .map(|i| log.try_submit(format!("queued {i}").into_bytes()).unwrap())
        .collect();
    let started = std::time::Instant::now();
    assert_eq!(
        log.try_submit(b"one too many".to_vec()).err(),
        Some(AppendError::QueueFull { depth: 2 })
    );
    assert!(started.elapsed() < Duration::from_millis(100));
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        first.try_wait().is_none(),
        "acknowledged while the disk stalls"
    );

    s.disk.release();
    assert_eq!(first.wait().unwrap().index(), 0);
    for (i, p) in queued.into_iter().enumerate() {
        assert_eq!(p.wait().unwrap().index(), i as u64 + 1);
    }
    assert_eq!(log.close().unwrap().checkpoint.size, 3);
}

#[test]
fn an_oversized_submit_is_an_immediate_typed_error() {
    let s = Sim::new();
    let log = s.open();
    assert_eq!(
        log.try_submit(vec![0; 70_000]).err(),
        Some(AppendError::TooLarge(70_000))
    );
    drop(log);
}

#[test]
fn the_fault_switch_stalls_appends_until_released() {
    let tmp = tempfile::tempdir().unwrap();
    let faults = FaultSwitch::default();
    let (log, _) = real_log(&tmp.path().join("log"), faults.clone());
    let stalled = faults.stall();
    let mut p = log.try_submit(b"stalled".to_vec()).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        p.try_wait().is_none(),
        "acknowledged while writes are stalled"
    );
    drop(stalled);
    assert_eq!(p.wait().unwrap().index(), 0);
}
