//! Entry bundle decoding: never a panic, and what decodes re-encodes to the same bytes.
#![no_main]
use cordon_log::bundle;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = bundle::decode(data) {
        assert_eq!(bundle::encode(entries.iter().copied()), data);
    }
});
