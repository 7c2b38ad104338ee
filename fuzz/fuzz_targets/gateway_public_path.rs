//! Public-log paths: never a panic, and nothing but the checkpoint and hash tiles.
#![no_main]
use cordon_gateway::public::{parse_public_path, PublicFile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(rest) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(PublicFile::Tile(p)) = parse_public_path(rest) {
        let text = p.to_string_lossy();
        assert!(text.starts_with("tile/"), "{text}");
        assert!(!text.contains("entries") && !text.contains(".."), "{text}");
    }
});
