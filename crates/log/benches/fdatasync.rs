//! Why the write-ahead file lays down zeros ahead of its entries: one batch-sized write
//! and `fdatasync` at the end of a growing file, beside the same write over zeros already
//! durable, in the same run: `cargo bench -p cordon-log --bench fdatasync [-- --ops N
//! --rounds R --bytes B --dir DIR]`.
//!
//! The arms alternate round by round on one file system (the directory given, by default
//! the system's temporary directory, which should be on the disk the log uses). Reported
//! per arm: syncs/s, median and p99 latency, and process CPU time per sync (user +
//! system, from /proc/self/stat), medians over rounds.
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

struct Args {
    ops: usize,
    rounds: usize,
    bytes: usize,
    dir: PathBuf,
}

fn args() -> Result<Args> {
    let mut a = Args {
        ops: 2000,
        rounds: 3,
        bytes: 1200,
        dir: std::env::temp_dir(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--ops" => a.ops = value()?.parse()?,
            "--rounds" => a.rounds = value()?.parse()?,
            "--bytes" => a.bytes = value()?.parse()?,
            "--dir" => a.dir = PathBuf::from(value()?),
            // cargo bench passes this to every bench target.
            "--bench" => {}
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    Ok(a)
}

/// This process's user + system CPU time in seconds.
fn cpu_seconds() -> Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .ok_or("odd /proc/self/stat")?
        .1
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
    // The kernel's USER_HZ is 100 on every Linux this runs on.
    Ok(ticks / 100.0)
}

struct Round {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    cpu_us: f64,
}

/// `ops` writes of `bytes`, each followed by `fdatasync`: at the end of the file, or
/// over zeros written and synced beforehand.
fn round(dir: &Path, a: &Args, over_zeros: bool) -> Result<Round> {
    let path = dir.join("cordon-fdatasync-bench.bin");
    let mut f = OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&path)?;
    if over_zeros {
        f.write_all(&vec![0u8; a.ops * a.bytes])?;
        f.sync_all()?;
    }
    let data = vec![b'x'; a.bytes];
    let mut lat = Vec::with_capacity(a.ops);
    let (cpu0, t0) = (cpu_seconds()?, Instant::now());
    for i in 0..a.ops {
        let t = Instant::now();
        f.write_all_at(&data, (i * a.bytes) as u64)?;
        f.sync_data()?;
        lat.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let (elapsed, cpu) = (t0.elapsed().as_secs_f64(), cpu_seconds()? - cpu0);
    drop(f);
    std::fs::remove_file(&path)?;
    lat.sort_by(f64::total_cmp);
    Ok(Round {
        per_second: a.ops as f64 / elapsed,
        p50_ms: lat[lat.len() / 2],
        p99_ms: lat[lat.len() * 99 / 100],
        cpu_us: cpu / a.ops as f64 * 1e6,
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<()> {
    let a = args()?;
    let mut arms: [(&str, Vec<Round>); 2] = [
        ("end of a growing file", vec![]),
        ("over zeros laid down ahead", vec![]),
    ];
    for r in 0..a.rounds {
        for (i, (name, rounds)) in arms.iter_mut().enumerate() {
            let x = round(&a.dir, &a, i == 1)?;
            println!(
                "round {} {name}: {:.0}/s p50 {:.3} ms p99 {:.3} ms cpu {:.0} us/sync",
                r + 1,
                x.per_second,
                x.p50_ms,
                x.p99_ms,
                x.cpu_us
            );
            rounds.push(x);
        }
    }
    println!("\n| {} B write + fdatasync, {} ops x {} rounds | syncs/s | p50 ms | p99 ms | CPU us/sync |", a.bytes, a.ops, a.rounds);
    println!("|---|---:|---:|---:|---:|");
    for (name, rounds) in &arms {
        println!(
            "| {name} | {:.0} | {:.3} | {:.3} | {:.0} |",
            median(rounds.iter().map(|x| x.per_second).collect()),
            median(rounds.iter().map(|x| x.p50_ms).collect()),
            median(rounds.iter().map(|x| x.p99_ms).collect()),
            median(rounds.iter().map(|x| x.cpu_us).collect()),
        );
    }
    Ok(())
}
