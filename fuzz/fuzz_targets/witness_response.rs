//! A witness's answer to add-checkpoint, as the gateway's client reads it: any status,
//! content type and body gives cosignature lines or a typed error, never a panic; lines
//! it accepts are checked against a key without panicking either.
#![no_main]
use cordon_witness::client::{interpret, verified_cosignature, SIZE_CONTENT_TYPE};
use libfuzzer_sys::fuzz_target;

const CHECKPOINT: &[u8] = "city.example/cordon\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n\u{2014} city.example/cordon P+VVgxBKC2x7MdxeKEmFJPHW19ROd83XFcjGSRpvtVfhful5J6r5zPKrxdOPOwTMt2Ulj6Vl4AlWem/AHmk9TGNupwc=\n".as_bytes();
const WITNESS: &str = "witness.example/w1+06652abc+BDYfru/fwq87DpD+hXz1HLFcTl/+sNBDQinpavJfTNL7";

fuzz_target!(|data: &[u8]| {
    let Some((&[hi, lo], rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let status = u16::from_be_bytes([hi, lo]);
    let (ct, body) = match rest.split_first() {
        Some((0, body)) => (Some(SIZE_CONTENT_TYPE), body),
        Some((_, body)) => (None, body),
        None => (None, rest),
    };
    if let Ok(lines) = interpret(status, ct, body) {
        if let Ok(key) = cordon_log::Verifier::parse(WITNESS) {
            let _ = verified_cosignature(CHECKPOINT, &lines, &key);
        }
    }
});
