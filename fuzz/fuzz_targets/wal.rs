//! Write-ahead record parsing: never a panic, and the valid prefix never exceeds the input.
#![no_main]
use cordon_log::wal::parse_records;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (records, valid) = parse_records(data);
    assert!(valid <= data.len().max(16));
    assert!(records.iter().map(|r| r.len() + 8).sum::<usize>() + 16 <= valid.max(16));
});
