//! `cordon log bench-shared`: durable appends/s on the PostgreSQL backend with one and
//! with three writers (each with its own sessions, as three gateways have), beside the
//! file backend, in one run. Arms alternate round by round; medians are reported.
//!
//! Appenders are threads that each append and wait for the receipt, spread evenly over
//! the writers. The writers share this process (and its two cores with PostgreSQL); the
//! HTTP path of a gateway is not included.
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use cordon_log::pg::{connect, PgConfig, PgLog};
use cordon_log::{create, Log, LogConfig, Receipt, Signer};

#[derive(Args)]
pub struct SharedBenchArgs {
    /// A PostgreSQL server where this role may create databases; the benchmark creates a
    /// scratch database beside the one named and drops it afterwards.
    #[arg(long)]
    pg: String,
    /// Seconds per arm per round.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Rounds (the arms alternate within each).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Concurrent appenders per arm, spread over the writers.
    #[arg(long, default_value_t = 48)]
    appenders: usize,
    /// Bytes per entry (a logged decision is typically 300-600 bytes).
    #[arg(long, default_value_t = 400)]
    entry_bytes: usize,
    /// Microseconds each PostgreSQL writer keeps gathering a batch after its first append.
    #[arg(long, default_value_t = 0)]
    commit_delay_us: u64,
}

/// Anything that hands out receipts for entries.
type AppendFn<'a> = dyn Fn(Vec<u8>) -> Option<Receipt> + Sync + 'a;

pub fn run(args: SharedBenchArgs) -> Result<ExitCode> {
    if args.appenders == 0 || args.rounds == 0 {
        bail!("--appenders and --rounds must be at least 1");
    }
    let scratch = Scratch::create(&args.pg)?;
    let tmp = tempfile::tempdir().context("creating a temporary directory")?;
    let signer = Signer::generate("bench.example/shared")?;
    let file_dir = tmp.path().join("file-log");
    create(&file_dir, &signer)?;
    let (file, _) = Log::open(&file_dir, signer.clone(), LogConfig::default())?;
    let writers: Vec<PgLog> = (0..3)
        .map(|n| {
            let cfg = PgConfig {
                writer: format!("bench writer {n}"),
                commit_delay: Duration::from_micros(args.commit_delay_us),
                ..PgConfig::default()
            };
            PgLog::open(&scratch.url, &tmp.path().join("tiles"), signer.clone(), cfg)
        })
        .collect::<Result<_, _>>()?;
    let dur = Duration::from_secs_f64(args.seconds);
    let size = args.entry_bytes;
    let (mut f, mut one, mut three) = (Vec::new(), Vec::new(), Vec::new());
    // Entries and commits of each PostgreSQL arm, for entries per commit.
    let (mut one_commits, mut three_commits) = ((0, 0), (0, 0));
    for _ in 0..args.rounds {
        f.push(arm(&|e| file.append(e).ok(), args.appenders, dur, size));
        let before = commits(&writers[..1]);
        one.push(arm(
            &|e| writers[0].append(e, None).ok(),
            args.appenders,
            dur,
            size,
        ));
        add_since(&mut one_commits, before, commits(&writers[..1]));
        let before = commits(&writers);
        three.push(arm_spread(&writers, args.appenders, dur, size));
        add_since(&mut three_commits, before, commits(&writers));
    }
    file.close()?;
    for w in writers {
        w.close()?;
    }
    let per_round: Vec<f64> = three.iter().zip(&one).map(|(t, o)| t / o).collect();
    let (f, one, three) = (median(f), median(one), median(three));
    println!(
        "durable appends/s, {} appenders, {} B entries, median of {} rounds of {:.1}s",
        args.appenders, size, args.rounds, args.seconds
    );
    println!("  file backend (one writer)       {f:>9.0}");
    println!(
        "  PostgreSQL, one writer          {one:>9.0}   {:.2}x file",
        one / f
    );
    println!(
        "  PostgreSQL, three writers       {three:>9.0}   {:.2}x file, {:.2}x one writer",
        three / f,
        three / one
    );
    println!(
        "  entries per commit: one writer {:.1}, three writers {:.1}",
        per_commit(one_commits),
        per_commit(three_commits)
    );
    let met = per_round.iter().all(|r| *r >= 1.0);
    println!(
        "  three writers / one writer per round: {} (target >= 1 in every round: {})",
        per_round
            .iter()
            .map(|r| format!("{r:.2}"))
            .collect::<Vec<_>>()
            .join(", "),
        if met { "met" } else { "missed" }
    );
    drop(scratch);
    Ok(ExitCode::SUCCESS)
}

/// Entries appended and commits made so far by `writers`.
fn commits(writers: &[PgLog]) -> (u64, u64) {
    use std::sync::atomic::Ordering::Relaxed;
    writers.iter().fold((0, 0), |(a, b), w| {
        (
            a + w.stats().appended.load(Relaxed),
            b + w.stats().batches.load(Relaxed),
        )
    })
}

fn add_since(total: &mut (u64, u64), before: (u64, u64), after: (u64, u64)) {
    total.0 += after.0 - before.0;
    total.1 += after.1 - before.1;
}

fn per_commit((entries, commits): (u64, u64)) -> f64 {
    entries as f64 / commits.max(1) as f64
}

fn arm_spread(writers: &[PgLog], appenders: usize, dur: Duration, size: usize) -> f64 {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let pick = |e: Vec<u8>| {
        // Each thread keeps to one writer, like a client behind a load balancer's
        // persistent connection: thread i uses writer i mod 3.
        let i = THREAD_SLOT
            .with(|s| *s.get_or_init(|| next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)));
        writers[i % writers.len()].append(e, None).ok()
    };
    arm(&pick, appenders, dur, size)
}

thread_local! {
    static THREAD_SLOT: std::cell::OnceCell<usize> = const { std::cell::OnceCell::new() };
}

/// `c` threads append and wait until `dur` passes; returns acknowledged appends/s.
fn arm(append: &AppendFn<'_>, c: usize, dur: Duration, size: usize) -> f64 {
    let start = Instant::now();
    let done: u64 = std::thread::scope(|s| {
        let hs: Vec<_> = (0..c)
            .map(|t| {
                s.spawn(move || {
                    let mut n = 0u64;
                    while start.elapsed() < dur {
                        if append(entry(t as u64 * 1_000_000 + n, size)).is_none() {
                            break;
                        }
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        hs.into_iter().filter_map(|h| h.join().ok()).sum()
    });
    done as f64 / start.elapsed().as_secs_f64()
}

fn entry(i: u64, size: usize) -> Vec<u8> {
    let mut e = format!("{{\"decision\":\"deny\",\"n\":{i},\"pad\":\"").into_bytes();
    e.resize(size.saturating_sub(2).max(e.len()), b'x');
    e.extend_from_slice(b"\"}");
    e
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A database made for this run and dropped after it.
struct Scratch {
    admin: String,
    name: String,
    url: String,
}

impl Scratch {
    fn create(admin: &str) -> Result<Scratch> {
        let name = format!("cordon_bench_{}", std::process::id());
        let Some((base, _)) = admin.rsplit_once('/') else {
            bail!("--pg {admin:?} is not a URL like postgresql://user@host/db");
        };
        let mut c = connect(admin, "cordon bench").context("connecting to --pg")?;
        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .and_then(|_| c.batch_execute(&format!("CREATE DATABASE {name}")))
            .with_context(|| {
                format!("creating the scratch database {name} (the role needs CREATEDB)")
            })?;
        Ok(Scratch {
            admin: admin.to_string(),
            url: format!("{base}/{name}"),
            name,
        })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Ok(mut c) = connect(&self.admin, "cordon bench") {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {}", self.name));
        }
    }
}
