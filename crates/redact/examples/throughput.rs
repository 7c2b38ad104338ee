//! Redacts an in-memory JSON array of person records in 64 KiB pieces and prints MB/s,
//! beside a plain copy of the same pieces as the baseline:
//!   cargo run --release -p cordon-redact --example throughput [MIB]
use cordon_redact::Redactor;
use std::time::Instant;

const RECORD: &str = r#"{"id":1234567,"name":"Fake Person","\u0069mmigration_status":"undocumented","nested":{"place_of_birth":"Fakeland","ok":[true,null,-1.5e3]},"charge":"burglary"}"#;

fn main() {
    let mib: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(256);
    let records = (mib << 20) / (RECORD.len() + 1);
    let body = format!("[{}]", vec![RECORD; records].join(","));
    let mut out = Vec::with_capacity(1 << 17);
    let started = Instant::now();
    let mut copied = 0;
    for piece in body.as_bytes().chunks(1 << 16) {
        out.clear();
        out.extend_from_slice(piece);
        copied += out.len();
    }
    let copy = started.elapsed();
    let mut r = Redactor::new(&["immigration_status", "place_of_birth"], 1 << 16);
    let started = Instant::now();
    let mut written = 0;
    for piece in body.as_bytes().chunks(1 << 16) {
        out.clear();
        if let Err(e) = r.feed(piece, &mut out) {
            eprintln!("{e}");
            return;
        }
        written += out.len();
    }
    let redact = started.elapsed();
    let mb = body.len() as f64 / 1e6;
    println!(
        "{mb:.0} MB in, {written} bytes out, {} removed: redact {:.0} MB/s, copy {:.0} MB/s ({copied} bytes)",
        r.removed(),
        mb / redact.as_secs_f64(),
        mb / copy.as_secs_f64()
    );
}
