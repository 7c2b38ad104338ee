//! `cordon log bench`: durable appends/s and latencies at several concurrencies, and full
//! verification speed, each beside a baseline measured in the same run.
//!
//! Baselines: SQLite in WAL mode with `synchronous=FULL` inserting the same entries from
//! the same number of threads, two ways: one transaction per entry on each thread's own
//! connection, and group commit the SQLite way (the threads hand entries to one writer,
//! which inserts all that are waiting in one transaction and then answers each); and raw
//! SHA-256 over entries of the same size on as many threads as verification uses. Every
//! arm is timed the same way: from its start until its last thread returns. Arms alternate
//! round by round and medians are reported, because these machines are noisy.
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use cordon_log::{create, Log, LogConfig, Signer};

#[derive(Args)]
pub struct BenchArgs {
    /// Seconds per arm per round.
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// Rounds per concurrency (arms alternate within each round).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Concurrent appenders to measure, comma-separated.
    #[arg(long, default_value = "1,8,64", value_delimiter = ',')]
    concurrency: Vec<usize>,
    /// Bytes per entry (a logged decision is typically 300-600 bytes).
    #[arg(long, default_value_t = 400)]
    entry_bytes: usize,
    /// Where to put the log and the SQLite file (default: a temporary directory).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Print results as JSON.
    #[arg(long)]
    json: bool,
    /// Also measure, alternating with the log as configured by default, a second log
    /// with this adaptive commit delay (`LogConfig::commit_delay`), in microseconds.
    #[arg(long)]
    commit_delay_us: Option<u64>,
}

struct ArmResult {
    ops: u64,
    elapsed: Duration,
    latencies: Vec<Duration>,
    checkpoint_latencies: Vec<Duration>,
}

impl ArmResult {
    fn rate(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64()
    }
}

fn entry(i: u64, size: usize) -> Vec<u8> {
    let mut e = format!("{{\"decision\":\"deny\",\"n\":{i},\"pad\":\"").into_bytes();
    e.resize(size.saturating_sub(2).max(e.len()), b'x');
    e.extend_from_slice(b"\"}");
    e
}

pub fn run(args: BenchArgs) -> Result<ExitCode> {
    let tmp = tempfile::tempdir().context("creating a temporary directory")?;
    let base = args.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&base).with_context(|| format!("creating {}", base.display()))?;
    let log_dir = base.join("bench-log");
    let _ = std::fs::remove_dir_all(&log_dir);
    let signer = Signer::generate("bench.example/log")?;
    create(&log_dir, &signer)?;
    let (log, _) = Log::open(&log_dir, signer.clone(), LogConfig::default())?;
    let delayed = match args.commit_delay_us {
        Some(us) => Some(open_delayed(&base, &signer, Duration::from_micros(us))?),
        None => None,
    };
    let db_path = base.join("bench.sqlite");
    let _ = std::fs::remove_file(&db_path);
    let _ = std::fs::remove_file(base.join("bench.sqlite-wal"));
    let db = SqliteBaseline::new(&db_path)?;
    let dur = Duration::from_secs_f64(args.seconds);

    let mut report = Vec::new();
    for &c in &args.concurrency {
        let (mut ours, mut theirs, mut batched) = (Vec::new(), Vec::new(), Vec::new());
        let mut with_delay = Vec::new();
        let mut fsyncs = (Vec::new(), Vec::new());
        for _ in 0..args.rounds {
            let before = per_fsync(&log);
            ours.push(append_arm(&log, c, dur, args.entry_bytes));
            fsyncs.0.push(per_fsync(&log).since(before));
            if let Some(d) = &delayed {
                let before = per_fsync(d);
                with_delay.push(append_arm(d, c, dur, args.entry_bytes));
                fsyncs.1.push(per_fsync(d).since(before));
            }
            theirs.push(db.arm(c, dur, args.entry_bytes)?);
            batched.push(db.batched_arm(c, dur, args.entry_bytes)?);
        }
        let mut line = summarize(&format!("{c} appenders"), c, &ours, &theirs);
        line.batched = Some(baseline(&batched));
        line.batched_rounds = batched.iter().map(ArmResult::rate).collect();
        report.push(line);
        if let Some(us) = args.commit_delay_us {
            compare_delay(c, us, (&ours, &fsyncs.0), (&with_delay, &fsyncs.1));
        }
    }
    if let Some(d) = delayed {
        d.close()?;
    }
    let pipelined: Vec<ArmResult> = (0..args.rounds)
        .map(|_| pipelined_arm(&log, 4096, dur, args.entry_bytes))
        .collect();
    report.push(summarize(
        "pipelined, 4096 in flight",
        4096,
        &pipelined,
        &[],
    ));
    log.close()?;

    let verify = verify_bench(&log_dir, &signer, args.rounds, args.entry_bytes)?;
    print_report(&report, &verify, args.json, args.entry_bytes);
    Ok(ExitCode::SUCCESS)
}

fn open_delayed(base: &Path, signer: &Signer, delay: Duration) -> Result<Log> {
    let dir = base.join("bench-log-delay");
    let _ = std::fs::remove_dir_all(&dir);
    create(&dir, signer)?;
    let config = LogConfig {
        commit_delay: delay,
        ..LogConfig::default()
    };
    Ok(Log::open(&dir, signer.clone(), config)?.0)
}

/// Round by round, what the adaptive commit delay bought in appends/s and cost in p99
/// append→durable, beside the same log without it (printed to stderr, so `--json` stays
/// one document).
fn compare_delay(
    c: usize,
    us: u64,
    (without, f0): (&[ArmResult], &[Fsyncs]),
    (with, f1): (&[ArmResult], &[Fsyncs]),
) {
    let p99 = |r: &ArmResult| {
        let mut v = r.latencies.clone();
        v.sort();
        ms(pct(&v, 99.0))
    };
    eprintln!("adaptive commit delay {us} µs, {c} appenders (without → with):");
    for (i, ((a, b), (fa, fb))) in without.iter().zip(with).zip(f0.iter().zip(f1)).enumerate() {
        eprintln!(
            "  round {}: {:.0} → {:.0} appends/s ({:.2}x), p99 {} → {}, entries per fsync {:.1} → {:.1}, fsyncs/s {:.0} → {:.0}",
            i + 1,
            a.rate(),
            b.rate(),
            b.rate() / a.rate(),
            p99(a),
            p99(b),
            fa.per_fsync(),
            fb.per_fsync(),
            fa.batches as f64 / a.elapsed.as_secs_f64(),
            fb.batches as f64 / b.elapsed.as_secs_f64()
        );
    }
    let (a, b) = (baseline(without), baseline(with));
    eprintln!(
        "  median {:.0} → {:.0} appends/s ({:.2}x); pooled p50 {} → {}, p99 {} → {}",
        a.rate,
        b.rate,
        b.rate / a.rate,
        ms(a.p50),
        ms(b.p50),
        ms(a.p99),
        ms(b.p99)
    );
}

/// Entries and write-ahead batches (one fsync each) a log has made durable.
#[derive(Clone, Copy)]
struct Fsyncs {
    entries: u64,
    batches: u64,
}

impl Fsyncs {
    fn since(self, before: Fsyncs) -> Fsyncs {
        Fsyncs {
            entries: self.entries - before.entries,
            batches: self.batches - before.batches,
        }
    }

    fn per_fsync(&self) -> f64 {
        self.entries as f64 / self.batches.max(1) as f64
    }
}

fn per_fsync(log: &Log) -> Fsyncs {
    Fsyncs {
        entries: log.stats().appended.load(Ordering::Relaxed),
        batches: log.stats().batches.load(Ordering::Relaxed),
    }
}

/// `c` threads, each appending and waiting, until `dur` passes.
fn append_arm(log: &Log, c: usize, dur: Duration, size: usize) -> ArmResult {
    let stop = AtomicBool::new(false);
    let submits: Mutex<Vec<(u64, Instant)>> = Mutex::new(Vec::new());
    let events: Mutex<Vec<(u64, Instant)>> = Mutex::new(Vec::new());
    let start = Instant::now();
    let start_size = log.durable_size();
    let lat = std::thread::scope(|s| {
        let watcher = s.spawn(|| watch_checkpoints(log, &stop, &events));
        let handles: Vec<_> = (0..c)
            .map(|t| {
                let submits = &submits;
                s.spawn(move || {
                    let mut lat = Vec::new();
                    let mut mine = Vec::new();
                    let mut i = t as u64;
                    while start.elapsed() < dur {
                        let t0 = Instant::now();
                        let Ok(r) = log.append(entry(i, size)) else {
                            break;
                        };
                        lat.push(t0.elapsed());
                        mine.push((r.index(), t0));
                        i += c as u64;
                    }
                    submits
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .extend(mine);
                    lat
                })
            })
            .collect();
        let lat = handles.into_iter().filter_map(|h| h.join().ok()).collect();
        // Timed like the baseline: from the start until every appender has returned,
        // including the tail of appends begun just before `dur`.
        let appended = (start.elapsed(), log.durable_size());
        // Wait for the checkpoint that covers the last append, then stop the watcher.
        let _ = log.wait_checkpoint(log.durable_size(), Duration::from_secs(30));
        stop.store(true, Ordering::Relaxed);
        let _ = watcher.join();
        (lat, appended)
    });
    let (lat, (elapsed, end_size)): (Vec<Vec<Duration>>, _) = lat;
    let latencies: Vec<Duration> = lat.into_iter().flatten().collect();
    let ops = end_size - start_size;
    let checkpoint_latencies = checkpoint_latencies(
        &submits.into_inner().unwrap_or_else(|p| p.into_inner()),
        &events.into_inner().unwrap_or_else(|p| p.into_inner()),
    );
    ArmResult {
        ops,
        elapsed,
        latencies,
        checkpoint_latencies,
    }
}

/// One thread keeps `depth` appends in flight: the ceiling that group commit allows.
fn pipelined_arm(log: &Log, depth: usize, dur: Duration, size: usize) -> ArmResult {
    let start = Instant::now();
    let start_size = log.durable_size();
    let mut inflight = std::collections::VecDeque::new();
    let mut latencies = Vec::new();
    let mut i = 0u64;
    while start.elapsed() < dur {
        while inflight.len() < depth {
            inflight.push_back((Instant::now(), log.submit(entry(i, size))));
            i += 1;
        }
        if let Some((t0, p)) = inflight.pop_front() {
            if p.wait().is_ok() {
                latencies.push(t0.elapsed());
            }
        }
    }
    for (t0, p) in inflight {
        if p.wait().is_ok() {
            latencies.push(t0.elapsed());
        }
    }
    let elapsed = start.elapsed();
    ArmResult {
        ops: log.durable_size() - start_size,
        elapsed,
        latencies,
        checkpoint_latencies: Vec::new(),
    }
}

fn watch_checkpoints(log: &Log, stop: &AtomicBool, events: &Mutex<Vec<(u64, Instant)>>) {
    let mut seen = log.checkpoint().checkpoint.size;
    while !stop.load(Ordering::Relaxed) {
        if let Ok(cp) = log.wait_checkpoint(seen + 1, Duration::from_millis(100)) {
            seen = cp.checkpoint.size;
            events
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((seen, Instant::now()));
        }
    }
}

/// For each append, the time from its submission to the first checkpoint covering it.
fn checkpoint_latencies(submits: &[(u64, Instant)], events: &[(u64, Instant)]) -> Vec<Duration> {
    submits
        .iter()
        .filter_map(|(idx, t0)| {
            let k = events.partition_point(|(size, _)| *size <= *idx);
            events.get(k).map(|(_, t)| t.saturating_duration_since(*t0))
        })
        .collect()
}

/// The baseline: SQLite, WAL mode, synchronous=FULL, one transaction per entry.
struct SqliteBaseline {
    path: PathBuf,
}

impl SqliteBaseline {
    fn new(path: &Path) -> Result<Self> {
        let c = rusqlite::Connection::open(path)?;
        c.pragma_update(None, "journal_mode", "WAL")?;
        c.execute_batch("CREATE TABLE log (id INTEGER PRIMARY KEY, entry BLOB NOT NULL)")?;
        Ok(SqliteBaseline {
            path: path.to_path_buf(),
        })
    }

    fn connect(&self) -> Result<rusqlite::Connection> {
        let c = rusqlite::Connection::open(&self.path)?;
        c.pragma_update(None, "synchronous", "FULL")?;
        c.busy_timeout(Duration::from_secs(30))?;
        Ok(c)
    }

    fn arm(&self, c: usize, dur: Duration, size: usize) -> Result<ArmResult> {
        let conns: Vec<rusqlite::Connection> =
            (0..c).map(|_| self.connect()).collect::<Result<_>>()?;
        let start = Instant::now();
        let lat: Vec<Vec<Duration>> = std::thread::scope(|s| {
            let handles: Vec<_> = conns
                .into_iter()
                .enumerate()
                .map(|(t, conn)| {
                    s.spawn(move || {
                        let mut lat = Vec::new();
                        let mut i = t as u64;
                        let Ok(mut stmt) = conn.prepare("INSERT INTO log (entry) VALUES (?1)")
                        else {
                            return lat;
                        };
                        while start.elapsed() < dur {
                            let t0 = Instant::now();
                            if stmt.execute([entry(i, size)]).is_err() {
                                break;
                            }
                            lat.push(t0.elapsed());
                            i += c as u64;
                        }
                        lat
                    })
                })
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        let latencies: Vec<Duration> = lat.into_iter().flatten().collect();
        Ok(ArmResult {
            ops: latencies.len() as u64,
            elapsed: start.elapsed(),
            latencies,
            checkpoint_latencies: Vec::new(),
        })
    }

    /// Group commit the SQLite way: `c` threads hand their entries to one writer, which
    /// inserts everything waiting in one transaction (one fsync) and then answers each
    /// thread; a thread's latency runs from handing over to that answer.
    fn batched_arm(&self, c: usize, dur: Duration, size: usize) -> Result<ArmResult> {
        let conn = self.connect()?;
        let (tx, rx) = std::sync::mpsc::channel::<Pending>();
        let start = Instant::now();
        let lat: Vec<Vec<Duration>> = std::thread::scope(|s| {
            let writer = s.spawn(move || sqlite_writer(conn, rx));
            let handles: Vec<_> = (0..c)
                .map(|t| {
                    let tx = tx.clone();
                    s.spawn(move || {
                        let mut lat = Vec::new();
                        let mut i = t as u64;
                        while start.elapsed() < dur {
                            let t0 = Instant::now();
                            let (ack, answered) = std::sync::mpsc::sync_channel(1);
                            if tx.send((entry(i, size), ack)).is_err()
                                || answered.recv() != Ok(true)
                            {
                                break;
                            }
                            lat.push(t0.elapsed());
                            i += c as u64;
                        }
                        lat
                    })
                })
                .collect();
            drop(tx);
            let lat = handles.into_iter().filter_map(|h| h.join().ok()).collect();
            let _ = writer.join();
            lat
        });
        let latencies: Vec<Duration> = lat.into_iter().flatten().collect();
        Ok(ArmResult {
            ops: latencies.len() as u64,
            elapsed: start.elapsed(),
            latencies,
            checkpoint_latencies: Vec::new(),
        })
    }
}

/// An entry handed to the SQLite writer and where to say whether it was committed.
type Pending = (Vec<u8>, std::sync::mpsc::SyncSender<bool>);

/// Most entries the SQLite writer puts in one transaction.
const SQLITE_MAX_BATCH: usize = 4096;

/// Inserts everything waiting in one transaction, commits, answers each sender; until
/// every sender is gone.
fn sqlite_writer(mut conn: rusqlite::Connection, rx: std::sync::mpsc::Receiver<Pending>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < SQLITE_MAX_BATCH {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let committed = insert_all(&mut conn, &batch).is_ok();
        for (_, ack) in batch {
            let _ = ack.send(committed);
        }
    }
}

fn insert_all(conn: &mut rusqlite::Connection, batch: &[Pending]) -> rusqlite::Result<()> {
    let txn = conn.transaction()?;
    {
        let mut stmt = txn.prepare_cached("INSERT INTO log (entry) VALUES (?1)")?;
        for (e, _) in batch {
            stmt.execute([e])?;
        }
    }
    txn.commit()
}

struct Line {
    name: String,
    concurrency: usize,
    ours_rate: f64,
    ours_p50: Duration,
    ours_p99: Duration,
    cp_p50: Option<Duration>,
    cp_p99: Option<Duration>,
    base_rate: Option<f64>,
    base_p50: Option<Duration>,
    base_p99: Option<Duration>,
    /// SQLite with one writer committing batches.
    batched: Option<Baseline>,
    /// Each round's rate, ours and the batched baseline's: a target counts as met only
    /// if every round meets it, which a median cannot show.
    ours_rounds: Vec<f64>,
    batched_rounds: Vec<f64>,
}

/// The target for synchronous appenders, checked round by round.
const TARGET_APPENDS_PER_S: f64 = 100_000.0;
const TARGET_APPENDERS: usize = 64;

/// A baseline's median rate and pooled latencies.
#[derive(Clone, Copy)]
struct Baseline {
    rate: f64,
    p50: Duration,
    p99: Duration,
}

fn baseline(arms: &[ArmResult]) -> Baseline {
    let mut lat: Vec<Duration> = arms
        .iter()
        .flat_map(|r| r.latencies.iter().copied())
        .collect();
    lat.sort();
    Baseline {
        rate: median(arms.iter().map(ArmResult::rate).collect()),
        p50: pct(&lat, 50.0),
        p99: pct(&lat, 99.0),
    }
}

fn summarize(name: &str, c: usize, ours: &[ArmResult], theirs: &[ArmResult]) -> Line {
    let pooled = |rs: &[ArmResult], f: fn(&ArmResult) -> &Vec<Duration>| {
        let mut v: Vec<Duration> = rs.iter().flat_map(|r| f(r).iter().copied()).collect();
        v.sort();
        v
    };
    let lat = pooled(ours, |r| &r.latencies);
    let cp = pooled(ours, |r| &r.checkpoint_latencies);
    let blat = pooled(theirs, |r| &r.latencies);
    Line {
        name: name.to_string(),
        concurrency: c,
        ours_rate: median(ours.iter().map(ArmResult::rate).collect()),
        ours_p50: pct(&lat, 50.0),
        ours_p99: pct(&lat, 99.0),
        cp_p50: (!cp.is_empty()).then(|| pct(&cp, 50.0)),
        cp_p99: (!cp.is_empty()).then(|| pct(&cp, 99.0)),
        base_rate: (!theirs.is_empty())
            .then(|| median(theirs.iter().map(ArmResult::rate).collect())),
        base_p50: (!blat.is_empty()).then(|| pct(&blat, 50.0)),
        base_p99: (!blat.is_empty()).then(|| pct(&blat, 99.0)),
        batched: None,
        ours_rounds: ours.iter().map(ArmResult::rate).collect(),
        batched_rounds: Vec::new(),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

struct VerifyBench {
    threads: usize,
    leaves: u64,
    verify_rate: f64,
    sha_rate: f64,
}

/// Full verification of the log just written, beside raw SHA-256 over entries of the same
/// size on as many threads as verification uses.
fn verify_bench(
    dir: &Path,
    signer: &Signer,
    rounds: usize,
    entry_bytes: usize,
) -> Result<VerifyBench> {
    let threads = cordon_log::verify::verify_workers();
    let v = signer.verifier();
    let (mut ours, mut base) = (Vec::new(), Vec::new());
    let mut leaves = 0;
    for _ in 0..rounds {
        let t = Instant::now();
        let r = cordon_log::verify::verify_dir(dir, &v)?;
        ours.push(r.size as f64 / t.elapsed().as_secs_f64());
        leaves = r.size;
        let entries: Vec<Vec<u8>> = (0..r.size.min(2_000_000))
            .map(|i| entry(i, entry_bytes))
            .collect();
        let t = Instant::now();
        hash_on_threads(&entries, threads);
        base.push(entries.len() as f64 / t.elapsed().as_secs_f64());
    }
    Ok(VerifyBench {
        threads,
        leaves,
        verify_rate: median(ours),
        sha_rate: median(base),
    })
}

/// Leaf-hashes `entries` split over `threads` threads, as verification divides bundles.
fn hash_on_threads(entries: &[Vec<u8>], threads: usize) {
    let chunk = entries.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|s| {
        for part in entries.chunks(chunk) {
            s.spawn(move || {
                let mut acc = 0u8;
                for e in part {
                    acc ^= cordon_log::hash::leaf_hash(e)[0];
                }
                std::hint::black_box(acc);
            });
        }
    });
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn print_report(lines: &[Line], v: &VerifyBench, json: bool, entry_bytes: usize) {
    if json {
        let arms: Vec<_> = lines
            .iter()
            .map(|l| {
                serde_json::json!({
                    "arm": l.name, "concurrency": l.concurrency,
                    "cordon_appends_per_s": l.ours_rate,
                    "cordon_durable_p50_ms": l.ours_p50.as_secs_f64() * 1e3,
                    "cordon_durable_p99_ms": l.ours_p99.as_secs_f64() * 1e3,
                    "cordon_checkpoint_p50_ms": l.cp_p50.map(|d| d.as_secs_f64() * 1e3),
                    "cordon_checkpoint_p99_ms": l.cp_p99.map(|d| d.as_secs_f64() * 1e3),
                    "sqlite_inserts_per_s": l.base_rate,
                    "sqlite_p50_ms": l.base_p50.map(|d| d.as_secs_f64() * 1e3),
                    "sqlite_p99_ms": l.base_p99.map(|d| d.as_secs_f64() * 1e3),
                    "sqlite_batched_inserts_per_s": l.batched.map(|b| b.rate),
                    "sqlite_batched_p50_ms": l.batched.map(|b| b.p50.as_secs_f64() * 1e3),
                    "sqlite_batched_p99_ms": l.batched.map(|b| b.p99.as_secs_f64() * 1e3),
                    "cordon_appends_per_s_per_round": l.ours_rounds,
                    "sqlite_batched_inserts_per_s_per_round": l.batched_rounds,
                })
            })
            .collect();
        let j = serde_json::json!({"entry_bytes": entry_bytes, "appends": arms,
            "verify": {"threads": v.threads, "leaves": v.leaves, "leaves_per_s": v.verify_rate, "raw_sha256_per_s": v.sha_rate}});
        println!("{j}");
        return;
    }
    println!("durable appends ({entry_bytes}-byte entries); medians of rounds, latencies pooled");
    println!(
        "{:<26} {:>9} {:>9} {:>9} {:>9} {:>9} | {:>9} {:>9} {:>6} | {:>9} {:>9} {:>6}",
        "arm",
        "cordon/s",
        "p50",
        "p99",
        "ckpt p50",
        "ckpt p99",
        "sqlite/s",
        "p50",
        "ratio",
        "batched/s",
        "p50",
        "ratio"
    );
    let opt = |d: Option<Duration>| d.map_or("-".to_string(), ms);
    let ratio = |r: Option<f64>, ours: f64| r.map_or("-".into(), |r| format!("{:.1}x", ours / r));
    for l in lines {
        println!(
            "{:<26} {:>9.0} {:>9} {:>9} {:>9} {:>9} | {:>9} {:>9} {:>6} | {:>9} {:>9} {:>6}",
            l.name,
            l.ours_rate,
            ms(l.ours_p50),
            ms(l.ours_p99),
            opt(l.cp_p50),
            opt(l.cp_p99),
            l.base_rate.map_or("-".into(), |r| format!("{r:.0}")),
            opt(l.base_p50),
            ratio(l.base_rate, l.ours_rate),
            l.batched.map_or("-".into(), |b| format!("{:.0}", b.rate)),
            opt(l.batched.map(|b| b.p50)),
            ratio(l.batched.map(|b| b.rate), l.ours_rate),
        );
    }
    for l in lines {
        print_rounds(l);
    }
    println!(
        "full verify of {} leaves: {:.0} leaves/s; raw leaf hashing of same-size entries on {} threads: {:.0}/s (ratio {:.2})",
        v.leaves,
        v.verify_rate,
        v.threads,
        v.sha_rate,
        v.verify_rate / v.sha_rate
    );
}

/// Each round's rate beside the batched baseline's of the same round, and the verdict on
/// the synchronous-appender target where the run measured that concurrency.
fn print_rounds(l: &Line) {
    let rates = |v: &[f64]| {
        v.iter()
            .map(|r| format!("{r:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut text = format!("{} per round: {}", l.name, rates(&l.ours_rounds));
    if !l.batched_rounds.is_empty() {
        text += &format!(" (batched SQLite: {})", rates(&l.batched_rounds));
    }
    if l.concurrency == TARGET_APPENDERS && !l.batched_rounds.is_empty() {
        let met = every_round_meets(&l.ours_rounds, TARGET_APPENDS_PER_S);
        text += &format!(
            "; target >= {TARGET_APPENDS_PER_S:.0}/s every round: {}",
            if met { "met" } else { "missed" }
        );
    }
    println!("{text}");
}

/// Met only if there were rounds and none fell short: one slow round is a miss, however
/// good the median.
fn every_round_meets(rounds: &[f64], target: f64) -> bool {
    !rounds.is_empty() && rounds.iter().all(|&r| r >= target)
}

#[cfg(test)]
mod tests {
    use super::every_round_meets;

    #[test]
    fn one_round_short_of_the_target_is_a_miss_whatever_the_median() {
        assert!(!every_round_meets(
            &[150_000.0, 99_999.0, 150_000.0],
            100_000.0
        ));
        assert!(every_round_meets(&[100_000.0, 123_000.0], 100_000.0));
        assert!(
            !every_round_meets(&[], 100_000.0),
            "no rounds, no verdict of met"
        );
    }
}
