//! Keep what the vendor deletes. Portal audits are a rolling 30-day window, and vendors
//! strip columns from exports after the fact; the archive writes each search into a
//! Cordon log (signed, append-only, verifiable) the first time it is seen, and again
//! whenever a later copy of it differs, so rows that fall off the window stay and a
//! vendor's later edits or stripping show. Each entry keeps its source, the time this
//! run saw it and the time the search was first seen.
//!
//! A search is known by its search id; an export with no id column (or a masked id) is
//! known by the SHA-256 of the whole row, so an edit to such a row reads as a new search.
//! Memory: the latest copy of every archived search, read back from the verified log at
//! the start of each run.
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use cordon_log::{Log, LogConfig, Signer, Verifier};
use serde::{Deserialize, Serialize};

use crate::columns::{layout_name, Field};
use crate::error::AuditError;
use crate::logread::{bundle_entries, verified_size};
use crate::table::Table;

/// The entry kind the archive writes.
pub const KIND: &str = "vendor_search";

/// One archived copy of a search, as written to the log.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArchiveEntry {
    /// The archive entry format's version; its presence marks an archive entry.
    pub archive: u32,
    pub kind: String,
    /// The vendor's search id, or `row-sha256:` and the row's hash when there is none.
    pub id: String,
    /// `new` the first time the search is seen, `edited` when a later copy differs.
    pub change: String,
    /// Where this copy came from: the URL or file given.
    pub source: String,
    /// When this run read it (UTC).
    pub seen: String,
    /// When the search was first archived.
    pub first_seen: String,
    /// For an edit: the columns whose values changed (or appeared, or went).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
    /// The export layout the copy came in.
    pub layout: String,
    /// The fields the audit reads, by their `--map` keys (`reason`, `org`, `time`, ...).
    pub search: BTreeMap<String, String>,
    /// Every column of the row as the vendor wrote it.
    pub row: BTreeMap<String, String>,
}

/// What the archive already holds.
#[derive(Default)]
pub struct ArchiveState {
    latest: HashMap<String, Latest>,
    /// Entries in the log before this run.
    pub entries: u64,
    /// Entries that are not archive entries (the log is shared, or was used otherwise).
    pub other_entries: u64,
}

struct Latest {
    first_seen: String,
    row: BTreeMap<String, String>,
}

impl ArchiveState {
    /// Distinct searches archived.
    pub fn searches(&self) -> usize {
        self.latest.len()
    }
}

/// What one run read and wrote.
#[derive(Debug, Default, Serialize)]
pub struct ArchiveReport {
    pub source: String,
    /// Rows read from the source.
    pub rows: u64,
    pub new: u64,
    pub edited: u64,
    pub unchanged: u64,
    /// Rows with no readable search id (known by their whole row's hash).
    pub without_id: u64,
    /// Damaged rows (field count differs from the header), as `file:line`: not archived.
    pub damaged: Vec<String>,
    /// Distinct searches in the archive after this run.
    pub searches_archived: u64,
    /// The log's size after this run.
    pub log_size: u64,
}

/// Reads every archive entry of the verified log in `dir`.
pub fn read_state(dir: &Path, verifier: &Verifier) -> Result<ArchiveState, AuditError> {
    let size = verified_size(dir, verifier)?;
    let mut state = ArchiveState {
        entries: size,
        ..ArchiveState::default()
    };
    for t in 0..size.div_ceil(256) {
        for bytes in bundle_entries(dir, size, t)? {
            match serde_json::from_slice::<ArchiveEntry>(&bytes) {
                Ok(e) if e.kind == KIND => {
                    state.latest.insert(
                        e.id,
                        Latest {
                            first_seen: e.first_seen,
                            row: e.row,
                        },
                    );
                }
                _ => state.other_entries += 1,
            }
        }
    }
    Ok(state)
}

/// The entries this run adds for `tables` read from `source` at `seen`, and updates
/// `state` to match. `org` names the organization of a file with no organization column.
pub fn plan(
    state: &mut ArchiveState,
    tables: &[Table],
    source: &str,
    seen: &str,
    org: Option<&str>,
) -> (Vec<ArchiveEntry>, ArchiveReport) {
    let mut report = ArchiveReport {
        source: source.to_string(),
        ..ArchiveReport::default()
    };
    let mut out = Vec::new();
    for t in tables {
        report
            .damaged
            .extend(t.damaged.iter().map(|l| format!("{}:{l}", t.label)));
        let layout = layout_name(&t.columns).to_string();
        for r in &t.rows {
            report.rows += 1;
            let row = row_map(&t.header, &r.cells);
            let id = match t.value(r, Field::Id) {
                Some(id) => id.to_string(),
                None => {
                    report.without_id += 1;
                    let canonical = serde_json::to_vec(&row).unwrap_or_default();
                    format!("row-sha256:{}", cordon_entry::sha256_hex(&canonical))
                }
            };
            let (change, first_seen, changed) = match state.latest.get(&id) {
                None => ("new", seen.to_string(), Vec::new()),
                Some(prev) if prev.row == row => {
                    report.unchanged += 1;
                    continue;
                }
                Some(prev) => (
                    "edited",
                    prev.first_seen.clone(),
                    differing(&prev.row, &row),
                ),
            };
            if change == "new" {
                report.new += 1;
            } else {
                report.edited += 1;
            }
            state.latest.insert(
                id.clone(),
                Latest {
                    first_seen: first_seen.clone(),
                    row: row.clone(),
                },
            );
            out.push(ArchiveEntry {
                archive: 1,
                kind: KIND.into(),
                id,
                change: change.into(),
                source: source.to_string(),
                seen: seen.to_string(),
                first_seen,
                changed,
                layout: layout.clone(),
                search: search_fields(t, r, org),
                row,
            });
        }
    }
    report.searches_archived = state.searches() as u64;
    (out, report)
}

/// The row as column → value; a repeated column name gets ` (2)`, ` (3)`.
fn row_map(header: &[String], cells: &[String]) -> BTreeMap<String, String> {
    let mut row = BTreeMap::new();
    for (name, cell) in header.iter().zip(cells) {
        let base = name.trim_start_matches('\u{feff}').trim().to_string();
        let mut key = base.clone();
        let mut n = 1;
        while row.contains_key(&key) {
            n += 1;
            key = format!("{base} ({n})");
        }
        row.insert(key, cell.clone());
    }
    row
}

fn differing(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> Vec<String> {
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

fn search_fields(t: &Table, r: &crate::table::Row, org: Option<&str>) -> BTreeMap<String, String> {
    let mut m: BTreeMap<String, String> = Field::ALL
        .iter()
        .filter(|f| t.columns.has(**f))
        .map(|f| (f.key().to_string(), t.get(r, *f).to_string()))
        .collect();
    if let (false, Some(org)) = (t.columns.has(Field::Org), org) {
        m.insert(Field::Org.key().into(), org.to_string());
    }
    m
}

/// Appends `entries` to the log in `dir`, waits until every one is durable and under a
/// signed checkpoint, and returns the log's new size.
pub fn append(dir: &Path, signer: Signer, entries: &[ArchiveEntry]) -> Result<u64, AuditError> {
    let fail = |why: String| AuditError::NotThisFormat {
        path: dir.to_path_buf(),
        why,
    };
    let (log, _recovery) =
        Log::open(dir, signer, LogConfig::default()).map_err(|e| fail(e.to_string()))?;
    let pending: Vec<_> = entries
        .iter()
        .map(|e| serde_json::to_vec(e).map(|b| log.submit(b)))
        .collect::<Result<_, _>>()
        .map_err(|e| fail(e.to_string()))?;
    let mut last = None;
    for p in pending {
        let receipt = p
            .wait()
            .map_err(|e| fail(format!("appending to the archive: {e}")))?;
        last = Some(receipt.index());
    }
    let size = match last {
        Some(i) => {
            log.wait_checkpoint(i + 1, Duration::from_secs(120))
                .map_err(|e| fail(format!("signing the archive's checkpoint: {e}")))?
                .checkpoint
                .size
        }
        None => log.checkpoint().checkpoint.size,
    };
    log.close().map_err(|e| fail(e.to_string()))?;
    Ok(size)
}
