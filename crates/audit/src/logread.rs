//! Reading a Cordon log for the audit: verified in full first, then its entries in order.
use std::path::Path;

use cordon_log::fs::{decode_bundle, read_tile_file};
use cordon_log::tile::bundle_in_tree;
use cordon_log::verify::verify_dir;
use cordon_log::Verifier;

use crate::error::AuditError;

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
