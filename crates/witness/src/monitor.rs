//! The witness's monitoring side (tlog-witness "Monitor Retrieval"): the latest checkpoint
//! it cosigned for each log, with the log's signature and its own cosignature, served at
//! `<prefix>/<hex SHA-256 of origin>/checkpoint` so that auditors can compare what each
//! witness saw (`cordon verify --checkpoint URL`) without asking the log.
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use cordon_log::hash::sha256;
use cordon_log::{Note, Verifier};

use crate::client::verified_cosignature;

/// Cosigned checkpoints on disk, one file per origin, never replaced by a smaller one.
pub struct Monitor {
    dir: PathBuf,
    witness: Verifier,
    written: Mutex<HashMap<String, u64>>,
}

/// Lowercase hex SHA-256 of a log's origin: the path element the spec names a log by.
pub fn origin_hash(origin: &str) -> String {
    sha256(origin.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Monitor {
    /// Keeps cosigned checkpoints in `dir` (created if missing), cosigned by `witness`.
    pub fn new(dir: &Path, witness: Verifier) -> std::io::Result<Monitor> {
        std::fs::create_dir_all(dir)?;
        Ok(Monitor {
            dir: dir.to_path_buf(),
            witness,
            written: Mutex::new(HashMap::new()),
        })
    }

    /// Records `checkpoint` (as submitted) with the cosignature `lines` just returned for
    /// it. The spec lets this lag behind add-checkpoint; it must never go backwards, so a
    /// size below one already written is skipped.
    pub fn record(
        &self,
        origin: &str,
        size: u64,
        checkpoint: &[u8],
        lines: &str,
    ) -> Result<(), String> {
        let sig =
            verified_cosignature(checkpoint, lines, &self.witness).map_err(|e| e.to_string())?;
        let mut note = Note::parse(checkpoint).map_err(|e| e.to_string())?;
        note.add_signature(sig);
        let mut written = self.written.lock().unwrap_or_else(|p| p.into_inner());
        if written.get(origin).is_some_and(|&s| s > size) {
            return Ok(());
        }
        let mut w = cordon_log::fs::AtomicWriter::new(&self.dir);
        w.write(&origin_hash(origin), &note.to_bytes())
            .and_then(|()| w.finish())
            .map_err(|e| e.to_string())?;
        written.insert(origin.to_string(), size);
        Ok(())
    }

    /// The cosigned checkpoint for the log whose origin hashes to `hash`, if any.
    pub fn read(&self, hash: &str) -> Option<Vec<u8>> {
        let valid =
            hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !valid {
            return None;
        }
        std::fs::read(self.dir.join(hash)).ok()
    }
}
