//! Access requests as JSON: never a panic, and a parsed request survives a round trip.
#![no_main]
use cordon_policy::AccessRequest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = AccessRequest::from_json_slice(data) {
        let bytes = serde_json::to_vec(&r).expect("a request serializes");
        let again = AccessRequest::from_json_slice(&bytes).expect("and parses again");
        assert_eq!(again, r);
    }
});
