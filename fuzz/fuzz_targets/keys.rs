//! Verifier and signer key parsing: never a panic, and parsed keys print back canonically.
#![no_main]
use cordon_log::{Signer, Verifier};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(v) = Verifier::parse(s) {
            assert_eq!(Verifier::parse(&v.to_text()).ok(), Some(v));
        }
        if let Ok(k) = Signer::parse(s) {
            assert_eq!(Signer::parse(&k.to_text()).map(|k| k.verifier()).ok(), Some(k.verifier()));
        }
    }
});
