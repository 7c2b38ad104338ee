//! Signed-note parsing: any bytes give a note or an error, and a parsed note re-serializes
//! to exactly the bytes it came from.
#![no_main]
use cordon_log::Note;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(note) = Note::parse(data) {
        assert_eq!(note.to_bytes(), data);
    }
});
