//! Real system calls failing under the built binary: `cordon log append` run under
//! `strace --inject` with `ENOSPC` or `EIO` on `pwrite64` (the write-ahead file's writes), `fdatasync` (Rust's `sync_data`)
//! and `fsync`. The command must fail with a clear message, acknowledge nothing it did not
//! make durable, and leave a log that recovers, verifies, and holds every entry it
//! acknowledged (and none it refused before writing).
//!
//! Needs strace (Debian's package `strace`); without it these tests fail, they do not skip.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test, with its message
mod common;
use common::*;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const STRACE: &str = "strace";

/// A log with `existing` entries already appended; returns its directory and vkey.
fn log_with(tmp: &Path, existing: usize) -> (PathBuf, String) {
    make_log(tmp, "log", existing)
}

/// The write-ahead segment the next `cordon log append` on a log of `size` entries writes.
fn next_segment(dir: &Path, size: u64) -> PathBuf {
    dir.join(format!(".cordon/wal/{size:020}.wal"))
}

/// `cordon log append DIR` under strace, tracing only `syscall` on `path` and failing its
/// `when`-th call in a thread with `error`.
fn append_under_strace(
    dir: &Path,
    path: &Path,
    syscall: &str,
    error: &str,
    when: impl std::fmt::Display,
) -> Child {
    let bin = env!("CARGO_BIN_EXE_cordon");
    Command::new(STRACE)
        .args(["-f", "-qq", "-o", "/dev/null", "-P"])
        .arg(path)
        .args(["-e", &format!("trace={syscall}")])
        .args(["-e", &format!("inject={syscall}:error={error}:when={when}")])
        .args([bin, "log", "append"])
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("{STRACE} did not run ({e}); these tests need it: apt-get install strace")
        })
}

/// What one faulted run acknowledged and said.
struct Run {
    acknowledged: Vec<(u64, String)>,
    success: bool,
    stderr: String,
}

/// Feeds the first `one_by_one` lines one at a time, waiting for each receipt, so that
/// each is its own batch (its own `pwrite64` and `fdatasync` in the sequencer thread); then
/// the rest at once, and closes stdin.
fn feed(mut child: Child, lines: &[String], one_by_one: usize) -> Run {
    let mut stdin = child.stdin.take().unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut stderr = child.stderr.take().unwrap();
    let errs = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut receipts = Vec::new();
    for line in &lines[..one_by_one] {
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
        // Generous: only a refused line (a bug here) waits this long.
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(r) => receipts.push(r),
            Err(_) => break,
        }
    }
    for line in &lines[one_by_one..] {
        // The command may have stopped reading already. Spaced out, so that lines after
        // a refused one usually make batches of their own, which a writer that failed to
        // stop would acknowledge.
        let _ = writeln!(stdin, "{line}").and_then(|()| stdin.flush());
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(stdin);
    let status = child.wait().unwrap();
    reader.join().unwrap();
    receipts.extend(rx.try_iter());
    // Receipts are printed in input order: the k-th is for the k-th line.
    let acknowledged = receipts
        .iter()
        .zip(lines)
        .map(|(r, l)| (r.trim().parse().unwrap(), l.clone()))
        .collect();
    Run {
        acknowledged,
        success: status.success(),
        stderr: errs.join().unwrap(),
    }
}

/// Recovers the log with an empty append, verifies it with the CLI, and returns its entries.
fn recover_and_verify(dir: &Path, vkey: &str) -> Vec<String> {
    let d = dir.to_str().unwrap();
    let o = run(&["log", "append", d], b"");
    assert!(o.status.success(), "recovery: {}", text(&o));
    let o = run(&["log", "verify", d, "--vkey", vkey], b"");
    assert!(o.status.success(), "verify: {}", text(&o));
    let v = cordon_log::Verifier::parse(vkey).unwrap();
    let size = cordon_log::read_checkpoint(dir, &v)
        .unwrap()
        .checkpoint
        .size;
    (0..size)
        .map(|i| {
            let e = cordon_log::verify::read_entry(dir, size, i).unwrap();
            String::from_utf8(e).unwrap()
        })
        .collect()
}

fn lines(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("strace line {i}")).collect()
}

/// The third batch's `syscall` fails with `error`: two receipts, then a clear failure.
fn third_batch_fails(syscall: &str, error: &str, message: &str) -> (Vec<String>, Vec<String>) {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, vkey) = log_with(tmp.path(), 0);
    let input = lines(5);
    let child = append_under_strace(&dir, &next_segment(&dir, 0), syscall, error, 3);
    let r = feed(child, &input, 2);
    assert!(
        !r.success,
        "the append succeeded despite {error}\n{}",
        r.stderr
    );
    assert!(r.stderr.contains(message), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    let acked: Vec<(u64, String)> = (0..2u64).map(|i| (i, input[i as usize].clone())).collect();
    assert_eq!(r.acknowledged, acked, "{}", r.stderr);
    let entries = recover_and_verify(&dir, &vkey);
    assert_eq!(entries[..2], input[..2], "acknowledged entries lost");
    (input, entries)
}

#[test]
fn enospc_on_a_write_ahead_write_fails_the_append_and_loses_nothing_acknowledged() {
    let (input, entries) = third_batch_fails(
        "pwrite64",
        "ENOSPC",
        "write failed: No space left on device",
    );
    // The refused line never reached the disk; lines after it may have been made durable
    // (and were not reported, as the command stopped at the first refusal).
    assert!(!entries.contains(&input[2]), "{entries:?}");
    assert!(entries.iter().all(|e| input.contains(e)), "{entries:?}");
}

#[test]
fn eio_on_a_write_ahead_write_fails_the_append_and_loses_nothing_acknowledged() {
    let (input, entries) = third_batch_fails("pwrite64", "EIO", "write failed: Input/output error");
    assert!(!entries.contains(&input[2]), "{entries:?}");
}

#[test]
fn eio_on_fdatasync_fails_the_append_and_stops_the_writer() {
    let (input, entries) =
        third_batch_fails("fdatasync", "EIO", "fsync failed: Input/output error");
    // The writer cut the unsynced record off and refused everything after it.
    assert_eq!(entries, input[..2], "{entries:?}");
}

#[test]
fn enospc_on_fdatasync_fails_the_append_and_stops_the_writer() {
    let (input, entries) = third_batch_fails(
        "fdatasync",
        "ENOSPC",
        "fsync failed: No space left on device",
    );
    assert_eq!(entries, input[..2], "{entries:?}");
}

#[test]
fn eio_on_fsync_of_the_write_ahead_directory_refuses_to_start() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, vkey) = log_with(tmp.path(), 3);
    let wal_dir = dir.join(".cordon/wal");
    let child = append_under_strace(&dir, &wal_dir, "fsync", "EIO", 1);
    let r = feed(child, &lines(2), 0);
    assert!(!r.success, "{}", r.stderr);
    assert!(r.stderr.contains("Input/output error"), "{}", r.stderr);
    assert!(
        r.stderr.contains(".cordon/wal"),
        "the message names the directory: {}",
        r.stderr
    );
    assert!(r.acknowledged.is_empty());
    let entries = recover_and_verify(&dir, &vkey);
    assert_eq!(entries, ["entry 0", "entry 1", "entry 2"]);
}

#[test]
fn eio_on_fdatasync_of_a_checkpoint_is_retried_and_nothing_is_lost() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, vkey) = log_with(tmp.path(), 0);
    let input = lines(3);
    let child = append_under_strace(&dir, &dir.join("checkpoint.tmp"), "fdatasync", "EIO", 1);
    let r = feed(child, &input, 3);
    assert!(r.success, "{}", r.stderr);
    assert_eq!(r.acknowledged.len(), 3, "{}", r.stderr);
    assert_eq!(recover_and_verify(&dir, &vkey), input);
}

#[test]
fn strace_injection_is_in_effect() {
    // Guards the tests above against an strace that runs but does not inject: failures of
    // every write of the segment's header (written under a temporary name and renamed
    // once fsynced; after a first failure it is tried again without the zeros ahead)
    // must stop `append` at open.
    let tmp = tempfile::tempdir().unwrap();
    let (dir, _) = log_with(tmp.path(), 0);
    let mut header = next_segment(&dir, 0).into_os_string();
    header.push(".tmp");
    let child = append_under_strace(&dir, Path::new(&header), "pwrite64", "EIO", "1+");
    let r = feed(child, &lines(1), 0);
    assert!(!r.success, "{}", r.stderr);
    assert!(r.stderr.contains("Input/output error"), "{}", r.stderr);
    assert!(
        r.stderr.contains(".wal.tmp"),
        "the message names the file: {}",
        r.stderr
    );
}
