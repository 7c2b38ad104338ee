//! Acknowledged means flushed, even though appends commit without waiting for it: a
//! PostgreSQL cluster of the test's own, whose WAL writer is told to wait ten seconds
//! between rounds, is killed (every one of its processes, SIGKILL: its shared memory and
//! the WAL buffers in it are gone) the moment appends are acknowledged; after crash
//! recovery every acknowledged entry must be there. What a SIGKILL cannot take is what
//! the kernel already holds, so this shows the entries were written out before their
//! receipts, not that the disk's cache was emptied (fsync is the server's part).
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::*;

/// The repository's script that makes and starts throwaway clusters.
fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.ci/postgres")
}

/// A cluster of this test's own, stopped on every way out of the test.
pub(super) struct Cluster {
    dir: tempfile::TempDir,
    port: u16,
}

/// An unflushed commit in a partly filled WAL page stays in the WAL buffers (shared
/// memory) until the WAL writer's next round: ten seconds here, far longer than the test
/// takes to kill the cluster. (A full page may be written sooner; the canary tells.)
const LAZY_WAL_WRITER: &str = "-c wal_writer_delay=10000";

impl Cluster {
    pub(super) fn start() -> Cluster {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let c = Cluster {
            dir: tempfile::tempdir().unwrap(),
            port,
        };
        c.run("start");
        c
    }

    fn run(&self, what: &str) -> String {
        let out = Command::new("bash")
            .arg(script())
            .args([what, self.dir.path().to_str().unwrap()])
            .env("CORDON_PG_PORT", self.port.to_string())
            .env("CORDON_PG_OPTIONS", LAZY_WAL_WRITER)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            ".ci/postgres {what} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    pub(super) fn url(&self) -> String {
        format!("postgresql://cordon@127.0.0.1:{}/postgres", self.port)
    }

    /// SIGKILL to the postmaster and all its children: the postmaster is stopped first,
    /// so that it forks nothing after its children are listed, and the shell's own
    /// `kill` signals them all (no dependence on a `kill` program being installed).
    fn kill(&self) {
        let pid_file = self.dir.path().join("data/postmaster.pid");
        let text = std::fs::read_to_string(pid_file).unwrap();
        let postmaster = text.lines().next().unwrap().trim().to_string();
        shell_kill("-STOP", std::slice::from_ref(&postmaster));
        let mut pids = children_of(&postmaster);
        assert!(!pids.is_empty(), "the cluster has no server processes");
        pids.push(postmaster);
        shell_kill("-KILL", &pids);
        // Every one of them, or a child still exiting keeps the shared memory attached
        // and the restart refuses to start.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        for pid in &pids {
            let proc = Path::new("/proc").join(pid);
            while proc.exists() && !is_zombie(&proc) {
                assert!(
                    std::time::Instant::now() < deadline,
                    "{pid} outlived SIGKILL"
                );
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        // As a reboot would: the dead postmaster may linger as a zombie nobody reaps, and
        // the server refuses to start while the PID in its lock file exists. So is the
        // lock file of its socket.
        std::fs::remove_file(self.dir.path().join("data/postmaster.pid")).unwrap();
        for f in std::fs::read_dir(self.dir.path()).unwrap() {
            let f = f.unwrap().path();
            if f.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".s.PGSQL.")
            {
                std::fs::remove_file(f).unwrap();
            }
        }
    }
}

/// `kill SIGNAL PIDS...` by the shell's builtin; a process that has already ended
/// makes it fail, and the rest are signalled all the same.
fn shell_kill(signal: &str, pids: &[String]) {
    let _ = Command::new("bash")
        .arg("-c")
        .arg(format!("kill {signal} {}", pids.join(" ")))
        .status()
        .unwrap();
}

/// The processes whose parent is `pid`, from /proc.
fn children_of(pid: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| {
            let path = e.ok()?.path();
            let stat = std::fs::read_to_string(path.join("stat")).ok()?;
            // `pid (comm) state ppid ...`: the name may hold spaces, so read after it.
            let ppid = stat.rsplit(')').next()?.split_whitespace().nth(1)?;
            (ppid == pid).then(|| path.file_name()?.to_str().map(str::to_string))?
        })
        .collect()
}

fn is_zombie(proc: &Path) -> bool {
    std::fs::read_to_string(proc.join("stat"))
        .map(|s| {
            s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(true)
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .args(["stop", self.dir.path().to_str().unwrap()])
            .output();
    }
}

/// A log on `cluster` with no integration round (whose synchronous commits would flush
/// the WAL for the appends) before the kill; its fault switch, and the directory to keep
/// alive while it is used.
fn log_without_integration(
    cluster: &Cluster,
    writer: &str,
) -> (PgLog, FaultSwitch, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let signer = Signer::generate(&format!("test.example/{writer}")).unwrap();
    let cfg = PgConfig {
        writer: writer.into(),
        checkpoint_interval: Duration::from_secs(60),
        ..PgConfig::default()
    };
    let faults = cfg.faults.clone();
    let log = PgLog::open(&cluster.url(), tmp.path(), signer, cfg).unwrap();
    (log, faults, tmp)
}

/// What was acknowledged, what was kept after recovery, and whether the canary lived.
type Run = (Vec<(u64, Vec<u8>)>, Vec<(u64, Vec<u8>)>, bool);

/// Appends 20 entries, makes a commit that is not flushed (the canary), kills the
/// cluster and recovers it.
fn append_then_lose_power() -> Run {
    let cluster = Cluster::start();
    let (log, _, _tmp) = log_without_integration(&cluster, "power");
    let mut canary = connect(&cluster.url(), "canary").unwrap();
    canary
        .batch_execute("CREATE TABLE canary (x int); SET synchronous_commit = off")
        .unwrap();
    let mut acked = Vec::new();
    for i in 0..20 {
        let entry = format!("acknowledged entry {i}").into_bytes();
        let receipt = log.append(entry.clone(), None).unwrap();
        acked.push((receipt.index(), entry));
    }
    canary
        .execute("INSERT INTO canary VALUES (1)", &[])
        .unwrap();
    cluster.kill();
    drop(log);
    cluster.run("resume");
    let mut client = connect(&cluster.url(), "after the crash").unwrap();
    let rows = client
        .query("SELECT idx, entry FROM cordon_entries ORDER BY idx", &[])
        .unwrap();
    let kept = rows
        .iter()
        .map(|r| (schema::to_u64(r.get(0)), r.get(1)))
        .collect();
    let canary_lived: i64 = client
        .query_one("SELECT count(*) FROM canary", &[])
        .unwrap()
        .get(0);
    (acked, kept, canary_lived > 0)
}

#[test]
fn an_acknowledged_append_survives_the_database_losing_power_the_moment_after() {
    // A run in which something else happened to flush the WAL (the canary, committed
    // without a flush after the last acknowledgement, survived) proves nothing: try again.
    let mut attempts = 0;
    let (acked, kept) = loop {
        attempts += 1;
        let (acked, kept, canary_lived) = append_then_lose_power();
        if !canary_lived {
            break (acked, kept);
        }
        assert!(
            attempts < 3,
            "in {attempts} runs the kill never lost an unflushed commit"
        );
    };
    for (index, entry) in &acked {
        assert!(
            kept.iter().any(|(i, e)| i == index && e == entry),
            "entry {index} was acknowledged and lost in the crash ({} of {} kept)",
            kept.len(),
            acked.len()
        );
    }
}

/// What a batch held between its commit and its flush was answered, what the log kept
/// of it after the server lost power, and the index the next append took.
struct Between {
    answer: Result<u64, String>,
    kept: Vec<u64>,
    next: u64,
}

const UNFLUSHED: &[u8] = b"committed, never flushed";

/// Holds a batch after its append committed (without waiting for the disk) and before
/// its flush, kills the cluster there, lets the flush fail, and recovers the cluster
/// while the batch is being settled. With `flushed_by_another`, another session's
/// synchronous commit first puts the write-ahead log, the batch's commit with it, on disk.
fn lose_power_between_append_and_flush(flushed_by_another: bool) -> Between {
    let cluster = Cluster::start();
    let (log, faults, _tmp) = log_without_integration(&cluster, "between");
    let stall = faults.stall_flushes();
    let pending = log.submit(UNFLUSHED.to_vec(), None);
    let answer =
        std::thread::spawn(move || pending.wait().map(|r| r.index()).map_err(|e| e.to_string()));
    assert!(
        faults.wait_for_held_flush(Duration::from_secs(10)),
        "the batch never reached its flush"
    );
    if flushed_by_another {
        connect(&cluster.url(), "another")
            .unwrap()
            .batch_execute("SET synchronous_commit = on; CREATE TABLE flushed_first ()")
            .unwrap();
    }
    cluster.kill();
    // The flush now fails (its server is gone) and the batch is settled, which retries
    // until the server is back.
    drop(stall);
    cluster.run("resume");
    let answer = answer.join().unwrap();
    let next = log
        .append(b"after recovery".to_vec(), None)
        .expect("the log did not go on after recovery")
        .index();
    let mut client = connect(&cluster.url(), "after the crash").unwrap();
    let kept = client
        .query("SELECT idx, entry FROM cordon_entries ORDER BY idx", &[])
        .unwrap()
        .iter()
        .filter(|r| r.get::<_, &[u8]>(1) == UNFLUSHED)
        .map(|r| schema::to_u64(r.get(0)))
        .collect();
    drop(log);
    Between { answer, kept, next }
}

#[test]
fn a_batch_whose_commit_was_lost_before_its_flush_is_refused_and_its_index_reused() {
    // The kill usually takes the unflushed commit back with the WAL buffers; when the
    // WAL writer got to it first, the batch is on disk and must be acknowledged instead.
    // Either way the answer must match what the log kept; only a lost one proves the
    // refusal, so a kept one is tried again.
    for attempt in 1..=3 {
        let run = lose_power_between_append_and_flush(false);
        if run.kept.is_empty() {
            let refused = run
                .answer
                .expect_err("a batch the crash took back was acknowledged");
            assert!(refused.contains("commit was lost"), "{refused}");
            assert_eq!(run.next, 0, "the log left a gap where the lost batch was");
            return;
        }
        assert_eq!(
            run.kept,
            vec![0],
            "the batch was kept at an index it was not given"
        );
        assert_eq!(
            run.answer,
            Ok(0),
            "a batch that is in the log after the crash was refused"
        );
        assert_eq!(run.next, 1);
        eprintln!("attempt {attempt}: the batch reached the disk before the kill");
    }
    panic!("in 3 runs the kill never lost an unflushed commit");
}

#[test]
fn a_batch_on_disk_before_the_crash_is_acknowledged_when_its_flush_failed() {
    let run = lose_power_between_append_and_flush(true);
    assert_eq!(run.kept, vec![0], "the flushed batch was not kept");
    assert_eq!(
        run.answer,
        Ok(0),
        "a batch that is in the log after the crash was refused"
    );
    assert_eq!(run.next, 1, "the next append did not follow the kept batch");
}
