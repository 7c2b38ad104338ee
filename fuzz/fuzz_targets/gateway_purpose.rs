//! Purpose headers: never a panic, whatever bytes each of the six headers holds.
#![no_main]
use cordon_gateway::{parse_purpose, PurposeFields};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // 0xff never occurs in a header value's UTF-8, so it separates the six headers.
    let mut parts = data.split(|&b| b == 0xff).map(Some);
    let mut next = || parts.next().flatten();
    let fields = PurposeFields {
        purpose: next(),
        reason: next(),
        case: next(),
        authority: next(),
        authority_ref: next(),
        authority_record: next(),
    };
    let _ = parse_purpose(fields);
});
