//! Request paths: never a panic, and a normalized path is stable and free of `..`.
#![no_main]
use cordon_gateway::{normalize_path, PathError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = normalize_path(raw) {
        assert!(p.segments().iter().all(|s| s != ".." && s != "." && !s.is_empty()));
        // What the gateway forwards must name the same resource when read again (escaping
        // can make it longer than the gateway itself accepts; that alone is no disagreement).
        match normalize_path(&p.encoded()) {
            Ok(again) => assert_eq!(again.segments(), p.segments()),
            Err(PathError::TooLong) => {}
            Err(e) => panic!("an encoded normal path is refused: {e:?}"),
        }
    }
});
