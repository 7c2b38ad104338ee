//! Reading a Cordon log for the audit: verified in full first, then its entries in order.
use std::path::Path;

use cordon_log::fs::{decode_bundle, read_tile_file};
use cordon_log::tile::bundle_in_tree;
use cordon_log::verify::verify_dir;
use cordon_log::Verifier;

use crate::error::AuditError;

/// Entries per full entry bundle (C2SP tlog-tiles).
const BUNDLE_ENTRIES: u64 = 256;

/// Reads a verified log's entries in order, a run of bundles at a time, as JSON lines.
pub struct LogCursor {
    dir: std::path::PathBuf,
    size: u64,
    next_bundle: u64,
}

impl LogCursor {
    /// Verifies the whole log in `dir` before anything of it is read.
    pub fn open(dir: &Path, verifier: &Verifier) -> Result<LogCursor, AuditError> {
        Ok(LogCursor {
            dir: dir.to_path_buf(),
            size: verified_size(dir, verifier)?,
            next_bundle: 0,
        })
    }

    /// Entries in the verified log.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The index of the next entry [`LogCursor::next_lines`] returns.
    pub fn position(&self) -> u64 {
        (self.next_bundle * BUNDLE_ENTRIES).min(self.size)
    }

    /// The next entries, one per line, until at least `min_bytes` are gathered or the log
    /// ends; `None` at the end. A raw line break inside an entry (never in Cordon's compact
    /// JSON, but a log holds bytes) becomes a space, so that one line is one entry.
    pub fn next_lines(&mut self, min_bytes: usize) -> Result<Option<Vec<u8>>, AuditError> {
        let mut out = Vec::new();
        while self.position() < self.size && out.len() < min_bytes {
            for entry in bundle_entries(&self.dir, self.size, self.next_bundle)? {
                out.extend(entry.iter().map(|&b| match b {
                    b'\n' | b'\r' => b' ',
                    b => b,
                }));
                out.push(b'\n');
            }
            self.next_bundle += 1;
        }
        Ok((!out.is_empty()).then_some(out))
    }
}

/// Verifies the log (signature, every tile recomputed) and returns its size.
pub fn verified_size(dir: &Path, verifier: &Verifier) -> Result<u64, AuditError> {
    verify_dir(dir, verifier)
        .map(|r| r.size)
        .map_err(|e| AuditError::NotThisFormat {
            path: dir.to_path_buf(),
            why: format!("the log does not verify, so it is not read: {e}"),
        })
}

/// The entries of bundle `t` of a log of `size` entries.
pub fn bundle_entries(dir: &Path, size: u64, t: u64) -> Result<Vec<Vec<u8>>, AuditError> {
    let id = bundle_in_tree(size, t).ok_or_else(|| AuditError::NotThisFormat {
        path: dir.to_path_buf(),
        why: format!("no bundle {t} in a log of {size} entries"),
    })?;
    let bad = |e: cordon_log::LogError| AuditError::NotThisFormat {
        path: dir.to_path_buf(),
        why: e.to_string(),
    };
    let (path, data) = read_tile_file(dir, id, size).map_err(bad)?;
    let entries = decode_bundle(dir, id, &path, &data).map_err(bad)?;
    Ok(entries.into_iter().map(<[u8]>::to_vec).collect())
}
