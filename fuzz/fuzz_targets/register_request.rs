//! Register bodies (`POST /requests`, outcomes, corrections): never a panic, and whatever
//! is accepted survives the log's round trip unchanged.
#![no_main]
use cordon_register::{Correction, FederalRequest, Outcome};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = FederalRequest::from_json(data) {
        let bytes = serde_json::to_vec(&request).expect("a parsed request serializes");
        assert_eq!(FederalRequest::from_json(&bytes).ok(), Some(request));
    }
    if let Ok(outcome) = Outcome::from_json(data) {
        let bytes = serde_json::to_vec(&outcome).expect("a parsed outcome serializes");
        assert_eq!(Outcome::from_json(&bytes).ok(), Some(outcome));
    }
    let _ = Correction::from_json(data);
});
