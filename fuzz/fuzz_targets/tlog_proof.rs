//! tlog-proof parsing: never a panic, and a parsed proof round-trips through its text.
#![no_main]
use cordon_log::TlogProof;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = TlogProof::parse(data) {
        let again = TlogProof::parse(p.to_text().as_bytes()).expect("printed proofs parse");
        assert_eq!(again.index, p.index);
        assert_eq!(again.hashes, p.hashes);
    }
});
