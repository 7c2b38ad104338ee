//! Checkpoint parsing and verification: never a panic, and a checkpoint body that parses
//! prints back to the same text.
#![no_main]
use cordon_log::{Checkpoint, SignedCheckpoint};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(cp) = Checkpoint::parse_text(text) {
            if text.ends_with('\n') {
                assert_eq!(cp.to_text(), text);
            }
        }
    }
    let _ = SignedCheckpoint::parse_unverified(data);
    let vkey = cordon_log::Verifier::parse(
        "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx",
    )
    .expect("a valid constant key");
    let _ = SignedCheckpoint::open(data, &[&vkey], Some("example.com/log/testdata"));
});
