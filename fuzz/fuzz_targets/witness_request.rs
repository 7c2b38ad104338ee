//! Witness add-checkpoint bodies: never a panic, and a parsed body re-serializes exactly.
#![no_main]
use cordon_log::witness::AddCheckpoint;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = AddCheckpoint::parse(data) {
        assert_eq!(req.to_body(), data);
    }
});
