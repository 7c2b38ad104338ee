//! Receipt parsing (the Cordon-Signed-Receipt value or its text, and the batch note's
//! text): never a panic, and what parses round-trips through its text.
#![no_main]
use cordon_log::receipt::{BatchNote, ReceiptText};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = ReceiptText::decode(data) {
        let again = ReceiptText::decode(r.to_text().as_bytes()).expect("printed receipts parse");
        assert_eq!(again, r);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(b) = BatchNote::parse_text(text) {
            assert_eq!(BatchNote::parse_text(&b.to_text()), Ok(b));
        }
    }
});
