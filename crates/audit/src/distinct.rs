//! Many files, one truth: the same search appears in many exports (portal scrapes overlap;
//! one search is in every network audit whose cameras it covered), so rows are united by
//! Flock's search id and reported both as rows and as distinct searches.
//!
//! Memory: one 64-bit hash per distinct id in a hash set, about 9 bytes per id when the
//! table is full and 18 just after it grows: at most ~340 MB for sm-alpr's 18.7 million
//! distinct searches, ~20 MB for a million. Flagged ids (a small share) also keep which
//! flags any copy raised. Two different ids share a hash with probability about n²/2⁶⁵
//! (1 in 100,000 for 18.7 million ids); such a pair would count as one search.
use std::hash::{Hash, Hasher};

use serde::Serialize;

use crate::classify::RowFindings;
use crate::fxhash::{FxHashMap, FxHashSet};

/// Bits of the flags a row raised, kept per flagged id.
pub const IMMIGRATION: u8 = 1;
pub const AGENCY: u8 = 2;
pub const SIDE_DOOR: u8 = 4;

pub fn flag_bits(f: &RowFindings) -> u8 {
    let bit = |on: bool, b: u8| if on { b } else { 0 };
    bit(f.immigration_reason(), IMMIGRATION)
        | bit(f.immigration_agency, AGENCY)
        | bit(f.side_door(), SIDE_DOOR)
}

/// The hash a search id is united by: case and surrounding spaces do not matter.
pub fn id_hash(id: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for b in id.trim().bytes() {
        h.write_u8(b.to_ascii_lowercase());
    }
    id.trim().len().hash(&mut h);
    h.finish()
}

/// Searches counted once however many rows repeat them.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Searches {
    /// Rows read, in every file.
    pub rows: u64,
    /// Distinct searches: distinct search ids, plus every row that has none.
    pub distinct: u64,
    /// Rows whose search id an earlier row (in this or an earlier file) already had.
    pub repeated_rows: u64,
    /// Rows without a readable search id (not united: each counts as a search).
    pub rows_without_id: u64,
    /// Distinct searches with an immigration reason in any of their rows.
    pub immigration: u64,
    /// Distinct searches by an immigration agency.
    pub immigration_agency: u64,
    /// Distinct side-door searches.
    pub side_door: u64,
    /// Distinct searches with any flag.
    pub any: u64,
}

/// The ids seen so far, in input order.
#[derive(Default)]
pub struct IdSet {
    seen: FxHashSet<u64>,
    flagged: FxHashMap<u64, u8>,
    no_id: Searches,
}

impl IdSet {
    /// Adds one row: its id's hash (if it has one) and the flags it raised.
    pub fn add(&mut self, id: Option<u64>, bits: u8) {
        self.no_id.rows += 1;
        match id {
            None => {
                self.no_id.rows_without_id += 1;
                self.no_id.distinct += 1;
                count_flags(&mut self.no_id, bits);
            }
            Some(h) => {
                if !self.seen.insert(h) {
                    self.no_id.repeated_rows += 1;
                }
                if bits != 0 {
                    *self.flagged.entry(h).or_default() |= bits;
                }
            }
        }
    }

    /// The counts over everything added.
    pub fn searches(&self) -> Searches {
        let mut s = self.no_id.clone();
        s.distinct += self.seen.len() as u64;
        for bits in self.flagged.values() {
            count_flags(&mut s, *bits);
        }
        s
    }
}

fn count_flags(s: &mut Searches, bits: u8) {
    s.immigration += u64::from(bits & IMMIGRATION != 0);
    s.immigration_agency += u64::from(bits & AGENCY != 0);
    s.side_door += u64::from(bits & SIDE_DOOR != 0);
    s.any += u64::from(bits != 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_in_two_files_counts_once_and_keeps_the_flag_of_either_copy() {
        let mut ids = IdSet::default();
        let a = id_hash("23D55B89-42eb-4f5c-9281-f5e8bf4864be");
        let b = id_hash(" 23d55b89-42eb-4f5c-9281-f5e8bf4864be ");
        assert_eq!(a, b);
        ids.add(Some(a), 0); // the copy whose reason was masked
        ids.add(Some(b), IMMIGRATION | SIDE_DOOR); // the copy that says why
        ids.add(Some(id_hash("other")), 0);
        ids.add(None, AGENCY);
        let s = ids.searches();
        assert_eq!(s.rows, 4);
        assert_eq!(s.distinct, 3);
        assert_eq!(s.repeated_rows, 1);
        assert_eq!(s.rows_without_id, 1);
        assert_eq!(
            (s.immigration, s.side_door, s.immigration_agency, s.any),
            (1, 1, 1, 2)
        );
    }
}
