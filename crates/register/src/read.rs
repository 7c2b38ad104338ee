//! Reading the register out of a log: the log is verified in full first (every tile
//! recomputed, the checkpoint's signature checked), then its entries are read in order
//! and each register entry handed to whoever is rebuilding the view or the totals.

use crate::entry::RegisterEntry;
use crate::error::RegisterError;
use crate::view::{Register, RegisterBuilder};
use cordon_log::fs::{decode_bundle, read_tile_file};
use cordon_log::tile::bundle_in_tree;
use cordon_log::verify::{read_entry, verify_dir};
use cordon_log::{Log, LogError, Verifier};
use std::path::Path;
use std::time::Duration;

/// Entries per full entry bundle (C2SP tlog-tiles).
const BUNDLE_ENTRIES: u64 = 256;

/// What was verified before anything was read.
#[derive(Debug, Clone)]
pub struct LogFacts {
    pub origin: String,
    pub size: u64,
    /// The root hash the checkpoint signs, in hex.
    pub root: String,
}

/// Verifies the log in `dir`, then calls `each(index, bytes)` for every register entry.
pub fn for_each_register_entry(
    dir: &Path,
    verifier: &Verifier,
    mut each: impl FnMut(u64, &[u8]) -> Result<(), RegisterError>,
) -> Result<LogFacts, RegisterError> {
    let report = verify_dir(dir, verifier)?;
    let size = report.size;
    each_register_entry_between(dir, size, 0, &mut each)?;
    Ok(LogFacts {
        origin: report.origin,
        size,
        root: report.root.iter().map(|b| format!("{b:02x}")).collect(),
    })
}

/// Calls `each(index, bytes)` for every register entry from index `from` to the end of a
/// tree of `size` entries in `dir`, without verifying the tree: for a reader that verified
/// the log up to `from` and follows what was appended since.
fn each_register_entry_between(
    dir: &Path,
    size: u64,
    from: u64,
    mut each: impl FnMut(u64, &[u8]) -> Result<(), RegisterError>,
) -> Result<(), RegisterError> {
    for t in from / BUNDLE_ENTRIES..size.div_ceil(BUNDLE_ENTRIES) {
        let id = bundle_in_tree(size, t).ok_or_else(|| LogError::Corrupt {
            path: dir.to_owned(),
            why: format!("no bundle {t} in a log of {size} entries"),
        })?;
        let (path, data) = read_tile_file(dir, id, size)?;
        for (i, entry) in decode_bundle(dir, id, &path, &data)?
            .into_iter()
            .enumerate()
        {
            let index = t * BUNDLE_ENTRIES + i as u64;
            if index >= from && crate::entry::is_register_entry(entry) {
                each(index, entry)?;
            }
        }
    }
    Ok(())
}

/// The register of a verified log.
pub fn read_register(
    dir: &Path,
    verifier: &Verifier,
) -> Result<(Register, LogFacts), RegisterError> {
    let mut builder = RegisterBuilder::default();
    let facts = for_each_register_entry(dir, verifier, |index, bytes| {
        if let Some(entry) = RegisterEntry::parse(index, bytes)? {
            builder.push(index, entry);
        }
        Ok(())
    })?;
    Ok((builder.finish(), facts))
}

/// The registered authorities of a verified log: what the gateway loads at startup (and
/// then keeps current with [`crate::AuthorityBook::push`] as it appends).
pub fn read_authorities(
    dir: &Path,
    verifier: &Verifier,
) -> Result<(crate::AuthorityBook, LogFacts), RegisterError> {
    let mut book = crate::AuthorityBook::default();
    let facts = for_each_register_entry(dir, verifier, |index, bytes| {
        if let Some(entry) = RegisterEntry::parse(index, bytes)? {
            book.push(index, &entry);
        }
        Ok(())
    })?;
    Ok((book, facts))
}

/// Adds to `book` the registrations and revocations among entries `from..size` of the
/// tree of `size` entries in `dir`: how a gateway that loaded the book with
/// [`read_authorities`] follows the log it (and, on a shared log, other gateways) appended
/// since. Reading an entry twice changes nothing.
pub fn follow_authorities(
    book: &mut crate::AuthorityBook,
    dir: &Path,
    size: u64,
    from: u64,
) -> Result<(), RegisterError> {
    each_register_entry_between(dir, size, from, |index, bytes| {
        if let Some(entry) = RegisterEntry::parse(index, bytes)? {
            book.push(index, &entry);
        }
        Ok(())
    })
}

/// The bytes of entry `index` of an open log, waiting (briefly) for the checkpoint that
/// covers it: what an outcome or a correction refers to.
pub fn entry_of_open_log(log: &Log, index: u64) -> Result<Vec<u8>, RegisterError> {
    let durable = log.durable_size();
    if index >= durable {
        return Err(RegisterError::Target(format!(
            "there is no entry {index}: the log has {durable} entries"
        )));
    }
    let checkpoint = log.wait_checkpoint(index + 1, Duration::from_secs(10))?;
    Ok(read_entry(log.root(), checkpoint.checkpoint.size, index)?)
}
