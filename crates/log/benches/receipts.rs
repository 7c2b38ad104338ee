//! What signed receipts cost per request, beside the same log with receipt signing
//! switched off, in the same run: `cargo bench -p cordon-log --bench receipts [-- --seconds
//! S --rounds N --concurrency 1,8,64,0]`.
//!
//! Two logs in one process, alternating round by round at each concurrency: one signs a
//! receipt note per commit batch and each appender encodes its receipt for the header,
//! as the gateway does; the other acknowledges with a bare index. Reported: appends/s,
//! median latency, and process CPU time per append (user + system, from /proc/self/stat),
//! medians over rounds.
use std::hint::black_box;
use std::time::{Duration, Instant};

use cordon_log::{create, Log, LogConfig, PendingAppend, Signer};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

struct Args {
    seconds: f64,
    rounds: usize,
    /// Appenders each waiting for its receipt; 0 is one thread keeping 4,096 in flight.
    concurrency: Vec<usize>,
    entry_bytes: usize,
}

fn args() -> Result<Args> {
    let mut a = Args {
        seconds: 2.0,
        rounds: 3,
        concurrency: vec![1, 8, 64, 0],
        entry_bytes: 400,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--seconds" => a.seconds = value()?.parse()?,
            "--rounds" => a.rounds = value()?.parse()?,
            "--entry-bytes" => a.entry_bytes = value()?.parse()?,
            "--concurrency" => {
                a.concurrency = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<std::result::Result<_, _>>()?
            }
            "--bench" => {}
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    Ok(a)
}

/// One arm's round: appends, wall time, process CPU time, latencies.
struct Round {
    ops: u64,
    elapsed: Duration,
    cpu: Duration,
    latencies: Vec<Duration>,
}

fn main() -> Result<()> {
    let args = args()?;
    let tmp = tempfile::tempdir()?;
    let open = |name: &str, sign: bool| -> Result<Log> {
        let dir = tmp.path().join(name);
        let signer = Signer::generate("bench.example/log")?;
        create(&dir, &signer)?;
        let config = LogConfig {
            sign_receipts: sign,
            ..LogConfig::default()
        };
        Ok(Log::open(&dir, signer, config)?.0)
    };
    let (signed, bare) = (open("signed", true)?, open("bare", false)?);
    let dur = Duration::from_secs_f64(args.seconds);
    println!(
        "signed receipts vs the same log without them; {} s x {} rounds, {}-byte entries; medians",
        args.seconds, args.rounds, args.entry_bytes
    );
    println!("| appenders | with receipts, appends/s | without, appends/s | p50 with / without | CPU µs per append, with | without | receipt cost, CPU µs per request | mean batch |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for &c in &args.concurrency {
        let (mut with, mut without) = (Vec::new(), Vec::new());
        let batches_before = batches(&signed);
        for _ in 0..args.rounds {
            with.push(arm(&signed, c, dur, args.entry_bytes)?);
            without.push(arm(&bare, c, dur, args.entry_bytes)?);
        }
        let appended: u64 = with.iter().map(|r| r.ops).sum();
        let mean_batch = appended as f64 / (batches(&signed) - batches_before).max(1) as f64;
        let cpu =
            |rs: &[Round]| median(rs.iter().map(|r| us(r.cpu) / r.ops.max(1) as f64).collect());
        let rate = |rs: &[Round]| {
            median(
                rs.iter()
                    .map(|r| r.ops as f64 / r.elapsed.as_secs_f64())
                    .collect(),
            )
        };
        let (cw, cb) = (cpu(&with), cpu(&without));
        let name = if c == 0 {
            "4,096 in flight".to_string()
        } else {
            c.to_string()
        };
        println!(
            "| {name} | {:.0} | {:.0} | {:.3} / {:.3} ms | {cw:.2} | {cb:.2} | {:.2} | {mean_batch:.1} |",
            rate(&with),
            rate(&without),
            p50(&with),
            p50(&without),
            cw - cb,
        );
    }
    signed.close()?;
    bare.close()?;
    Ok(())
}

fn batches(log: &Log) -> u64 {
    log.stats()
        .batches
        .load(std::sync::atomic::Ordering::Relaxed)
}

fn arm(log: &Log, c: usize, dur: Duration, size: usize) -> Result<Round> {
    let cpu0 = process_cpu()?;
    let start = Instant::now();
    let latencies = if c == 0 {
        pipelined(log, dur, size)
    } else {
        closed_loop(log, c, dur, size)
    };
    let (elapsed, cpu) = (start.elapsed(), process_cpu()?.saturating_sub(cpu0));
    Ok(Round {
        ops: latencies.len() as u64,
        elapsed,
        cpu,
        latencies,
    })
}

/// `c` threads, each appending, waiting for its receipt and encoding it for the header.
fn closed_loop(log: &Log, c: usize, dur: Duration, size: usize) -> Vec<Duration> {
    let start = Instant::now();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..c)
            .map(|t| {
                s.spawn(move || {
                    let mut lat = Vec::new();
                    let mut i = t as u64;
                    while start.elapsed() < dur {
                        let t0 = Instant::now();
                        let Ok(r) = log.append(entry(i, size)) else {
                            break;
                        };
                        black_box(r.header_value());
                        lat.push(t0.elapsed());
                        i += c as u64;
                    }
                    lat
                })
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().ok())
            .flatten()
            .collect()
    })
}

/// One thread keeping 4,096 appends in flight.
fn pipelined(log: &Log, dur: Duration, size: usize) -> Vec<Duration> {
    let start = Instant::now();
    let mut inflight = std::collections::VecDeque::new();
    let mut lat = Vec::new();
    let mut i = 0u64;
    let mut take = |(t0, p): (Instant, PendingAppend)| {
        if let Ok(r) = p.wait() {
            black_box(r.header_value());
            lat.push(Instant::elapsed(&t0));
        }
    };
    while start.elapsed() < dur {
        while inflight.len() < 4096 {
            inflight.push_back((Instant::now(), log.submit(entry(i, size))));
            i += 1;
        }
        if let Some(next) = inflight.pop_front() {
            take(next);
        }
    }
    inflight.into_iter().for_each(take);
    lat
}

fn entry(i: u64, size: usize) -> Vec<u8> {
    let mut e = format!("{{\"decision\":\"deny\",\"n\":{i},\"pad\":\"").into_bytes();
    e.resize(size.saturating_sub(2).max(e.len()), b'x');
    e.extend_from_slice(b"\"}");
    e
}

/// User plus system CPU time of the whole process, threads that ended included.
fn process_cpu() -> Result<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the parenthesized command name; utime and stime are the 14th and 15th.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or("/proc/self/stat has no command name")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> Result<u64> {
        Ok(fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .ok_or("/proc/self/stat: utime or stime unreadable")?)
    };
    // Linux reports these in USER_HZ, 100 per second on every architecture it runs on.
    let total = ticks(11)? + ticks(12)?;
    Ok(Duration::from_millis(total * 10))
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn p50(rs: &[Round]) -> f64 {
    let mut v: Vec<Duration> = rs
        .iter()
        .flat_map(|r| r.latencies.iter().copied())
        .collect();
    v.sort();
    v.get(v.len() / 2).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}
