//! The auditor's memory between runs: the last checkpoint verified for each log origin,
//! so the next run can demand the log only grew from there.
use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::VerifyError;

/// The state file: JSON, one entry per origin.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    pub logs: BTreeMap<String, Seen>,
}

/// A checkpoint as verified, with its signatures, and when.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seen {
    /// The signed checkpoint note, as fetched.
    pub checkpoint: String,
    /// Seconds since the Unix epoch.
    pub verified_at: u64,
}

impl State {
    /// Reads the state file; a missing file is an empty state (a first run).
    pub fn load(path: &Path) -> Result<State, VerifyError> {
        let bad = |why: String| VerifyError::State {
            path: path.to_path_buf(),
            why,
        };
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| bad(format!("is not a verify state file: {e}"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(bad(e.to_string())),
        }
    }

    /// Writes the state durably and atomically: a crash leaves the old file or the new.
    pub fn save(&self, path: &Path) -> Result<(), VerifyError> {
        let bad = |why: String| VerifyError::State {
            path: path.to_path_buf(),
            why,
        };
        let json = serde_json::to_vec_pretty(self).map_err(|e| bad(e.to_string()))?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| bad("is not a file name".into()))?;
        let mut w = cordon_log::fs::AtomicWriter::new(dir);
        w.write(name, &json)
            .and_then(|()| w.finish())
            .map_err(|e| bad(e.to_string()))
    }
}
