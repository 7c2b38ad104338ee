//! Many files, one truth: the same search appears in many exports (portal scrapes overlap;
//! one search is in every network audit whose cameras it covered), so rows are united by
//! Flock's search id and reported both as rows and as distinct searches.
//!
//! Memory is bounded whatever the input: each row with an id adds one 64-bit word (the
//! id's hash with the row's three flag bits in its low bits). The worker that read a
//! chunk sorts its words and merges their repeats; the set merges these sorted runs as
//! they come, holding at most [`BUFFER_WORDS`] words (64 MiB), and once full writes them
//! to an anonymous temporary file as one sorted run (8 bytes per distinct id in it). At the end the runs are merged, reading 64 KiB of each at a time, to count
//! distinct ids and the flags any copy raised. sm-alpr's corpus (139.9M rows, 18.7M
//! distinct searches) would take 17 runs and at most 1.1 GB of temporary disk; a million
//! rows never leave memory. Ids are told apart by 61 bits of hash: two different ids
//! share one with probability about n²/2⁶², 1 in 26,000 for 18.7 million ids; such a pair
//! would count as one search.
use std::hash::{Hash, Hasher};

use serde::Serialize;

use crate::classify::RowFindings;

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
    // SipHash reads a stream: writing the lowered bytes a block at a time gives the same
    // hash as writing them one by one, for a fraction of the calls.
    let mut block = [0u8; 64];
    for part in id.trim().as_bytes().chunks(block.len()) {
        let lowered = &mut block[..part.len()];
        lowered.copy_from_slice(part);
        lowered.make_ascii_lowercase();
        h.write(lowered);
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

/// One chunk's rows, gathered by the worker that read them: its ids already sorted and
/// their repeats merged, so that the set only merges sorted runs.
#[derive(Debug, Default)]
pub struct ChunkIds {
    words: Vec<u64>,
    no_id: Searches,
}

impl ChunkIds {
    /// Adds one row: its id's hash (if it has one) and the flags it raised.
    pub fn add(&mut self, id: Option<u64>, bits: u8) {
        self.no_id.rows += 1;
        match id {
            None => {
                self.no_id.rows_without_id += 1;
                self.no_id.distinct += 1;
                count_flags(&mut self.no_id, bits);
            }
            Some(h) => self.words.push(word(h, bits)),
        }
    }

    /// Sorts the chunk's ids (on the worker, in parallel with the others).
    pub fn seal(&mut self) {
        self.words = sorted_merged(std::mem::take(&mut self.words));
    }
}

fn word(h: u64, bits: u8) -> u64 {
    (h & !FLAG_BITS) | (u64::from(bits) & FLAG_BITS)
}

/// The ids seen so far.
pub struct IdSet {
    /// Rows added one by one, not yet sorted.
    buffer: Vec<u64>,
    /// Sorted runs held in memory, each at most half the one below it, merged as they
    /// come (as a merge sort does), so that little is left to merge at the end.
    levels: Vec<Vec<u64>>,
    /// Words in `buffer` and `levels`.
    held: usize,
    runs: Vec<std::fs::File>,
    limit: usize,
    no_id: Searches,
}

/// Words held in memory before a sorted run is written out (64 MiB).
pub const BUFFER_WORDS: usize = 8 << 20;

const FLAG_BITS: u64 = 0b111;

impl Default for IdSet {
    fn default() -> Self {
        IdSet::with_limit(BUFFER_WORDS)
    }
}

impl IdSet {
    /// A set that spills a run to disk once it holds `limit` words.
    pub fn with_limit(limit: usize) -> IdSet {
        IdSet {
            buffer: Vec::new(),
            levels: Vec::new(),
            held: 0,
            runs: Vec::new(),
            limit: limit.max(1),
            no_id: Searches::default(),
        }
    }

    /// Adds one row: its id's hash (if it has one) and the flags it raised.
    pub fn add(&mut self, id: Option<u64>, bits: u8) -> std::io::Result<()> {
        self.no_id.rows += 1;
        match id {
            None => {
                self.no_id.rows_without_id += 1;
                self.no_id.distinct += 1;
                count_flags(&mut self.no_id, bits);
            }
            Some(h) => {
                self.buffer.push(word(h, bits));
                self.held += 1;
                if self.held >= self.limit {
                    self.spill()?;
                }
            }
        }
        Ok(())
    }

    /// Adds a chunk's rows (see [`ChunkIds::seal`]).
    pub fn add_chunk(&mut self, chunk: ChunkIds) -> std::io::Result<()> {
        let (mine, theirs) = (&mut self.no_id, &chunk.no_id);
        mine.rows += theirs.rows;
        mine.rows_without_id += theirs.rows_without_id;
        mine.distinct += theirs.distinct;
        mine.immigration += theirs.immigration;
        mine.immigration_agency += theirs.immigration_agency;
        mine.side_door += theirs.side_door;
        mine.any += theirs.any;
        self.held += chunk.words.len();
        self.levels.push(chunk.words);
        while let [.., below, top] = &self.levels[..] {
            if below.len() > 2 * top.len() {
                break;
            }
            let (Some(top), Some(below)) = (self.levels.pop(), self.levels.pop()) else {
                break;
            };
            let merged = merge_two(&below, &top);
            self.held -= below.len() + top.len() - merged.len();
            self.levels.push(merged);
        }
        if self.held >= self.limit {
            self.spill()?;
        }
        Ok(())
    }

    /// Sorted runs written to disk so far.
    pub fn runs(&self) -> usize {
        self.runs.len()
    }

    /// Everything held in memory as one sorted run, its repeats merged.
    fn take_sorted(&mut self) -> Vec<u64> {
        let mut all = sorted_merged(std::mem::take(&mut self.buffer));
        for run in std::mem::take(&mut self.levels) {
            all = merge_two(&all, &run);
        }
        self.held = 0;
        all
    }

    fn spill(&mut self) -> std::io::Result<()> {
        use std::io::Write;
        let words = self.take_sorted();
        let mut file = tempfile::tempfile()?;
        let mut w = std::io::BufWriter::with_capacity(RUN_READ, &mut file);
        for word in &words {
            w.write_all(&word.to_le_bytes())?;
        }
        w.flush()?;
        drop(w);
        self.runs.push(file);
        Ok(())
    }

    /// The counts over everything added.
    pub fn finish(mut self) -> std::io::Result<Searches> {
        let mut s = self.no_id.clone();
        let with_id = s.rows - s.rows_without_id;
        let mut distinct = 0u64;
        let mut tally = |word: u64| {
            distinct += 1;
            count_flags(&mut s, (word & FLAG_BITS) as u8);
        };
        if self.runs.is_empty() {
            self.take_sorted().into_iter().for_each(&mut tally);
        } else {
            if self.held > 0 {
                self.spill()?;
            }
            merge_runs(self.runs, &mut tally)?;
        }
        s.distinct += distinct;
        s.repeated_rows = with_id - distinct;
        Ok(s)
    }
}

/// Two sorted runs (repeats merged) as one: an id in both keeps the flags of either.
fn merge_two(a: &[u64], b: &[u64]) -> Vec<u64> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while let (Some(&x), Some(&y)) = (a.get(i), b.get(j)) {
        let (kx, ky) = (x & !FLAG_BITS, y & !FLAG_BITS);
        if kx == ky {
            out.push(x | y);
            i += 1;
            j += 1;
        } else if kx < ky {
            out.push(x);
            i += 1;
        } else {
            out.push(y);
            j += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// Bytes read from each run at a time while merging.
const RUN_READ: usize = 64 << 10;

/// Sorts words by id and merges repeats of one id into one word with every flag any had.
fn sorted_merged(mut words: Vec<u64>) -> Vec<u64> {
    words.sort_unstable();
    let mut out: Vec<u64> = Vec::with_capacity(words.len());
    for w in words {
        match out.last_mut() {
            Some(last) if *last & !FLAG_BITS == w & !FLAG_BITS => *last |= w,
            _ => out.push(w),
        }
    }
    out
}

/// Merges sorted runs, calling `each` once per distinct id with its merged word.
fn merge_runs(runs: Vec<std::fs::File>, each: &mut impl FnMut(u64)) -> std::io::Result<()> {
    use std::cmp::Reverse;
    use std::io::{Read, Seek};
    let mut readers = Vec::with_capacity(runs.len());
    for mut f in runs {
        f.rewind()?;
        readers.push(std::io::BufReader::with_capacity(RUN_READ, f));
    }
    let next = |r: &mut std::io::BufReader<std::fs::File>| -> std::io::Result<Option<u64>> {
        let mut b = [0u8; 8];
        match r.read_exact(&mut b) {
            Ok(()) => Ok(Some(u64::from_le_bytes(b))),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
            Err(e) => Err(e),
        }
    };
    let mut heap = std::collections::BinaryHeap::new();
    for (i, r) in readers.iter_mut().enumerate() {
        if let Some(w) = next(r)? {
            heap.push(Reverse((w, i)));
        }
    }
    let mut current: Option<u64> = None;
    while let Some(Reverse((w, i))) = heap.pop() {
        match current {
            Some(c) if c & !FLAG_BITS == w & !FLAG_BITS => current = Some(c | w),
            Some(c) => {
                each(c);
                current = Some(w);
            }
            None => current = Some(w),
        }
        if let Some(n) = next(&mut readers[i])? {
            heap.push(Reverse((n, i)));
        }
    }
    if let Some(c) = current {
        each(c);
    }
    Ok(())
}

fn count_flags(s: &mut Searches, bits: u8) {
    s.immigration += u64::from(bits & IMMIGRATION != 0);
    s.immigration_agency += u64::from(bits & AGENCY != 0);
    s.side_door += u64::from(bits & SIDE_DOOR != 0);
    s.any += u64::from(bits != 0);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The same rows counted in memory and through many small spilled runs.
    /// The hash is written a block at a time; it must stay the byte-at-a-time one, which
    /// ignores case and surrounding spaces.
    #[test]
    fn id_hashes_are_the_byte_at_a_time_siphash_of_the_lowered_id() {
        let long = "A".repeat(150) + "-b";
        for id in ["", "abc", " AbC-123 ", long.as_str()] {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            for b in id.trim().bytes() {
                h.write_u8(b.to_ascii_lowercase());
            }
            id.trim().len().hash(&mut h);
            assert_eq!(id_hash(id), h.finish(), "{id}");
        }
        assert_eq!(id_hash(" ABC "), id_hash("abc"));
    }

    #[test]
    fn spilled_runs_count_the_same_as_memory() {
        let rows: Vec<(Option<u64>, u8)> = (0..10_000u64)
            .map(|i| {
                let id = (i % 7 != 0).then(|| id_hash(&format!("id-{}", (i * 7919) % 3_001)));
                let bits = if i % 97 == 0 {
                    IMMIGRATION
                } else if i % 89 == 0 {
                    AGENCY | SIDE_DOOR
                } else {
                    0
                };
                (id, bits)
            })
            .collect();
        let count = |limit| {
            let mut ids = IdSet::with_limit(limit);
            for (id, bits) in &rows {
                ids.add(*id, *bits).unwrap();
            }
            let runs = ids.runs();
            (ids.finish().unwrap(), runs)
        };
        let by_chunks = |limit| {
            let mut ids = IdSet::with_limit(limit);
            for chunk in rows.chunks(37) {
                let mut c = ChunkIds::default();
                for (id, bits) in chunk {
                    c.add(*id, *bits);
                }
                c.seal();
                ids.add_chunk(c).unwrap();
            }
            ids.finish().unwrap()
        };
        let (memory, none) = count(usize::MAX);
        assert_eq!(by_chunks(usize::MAX), memory);
        assert_eq!(by_chunks(300), memory);
        let (spilled, runs) = count(250);
        assert_eq!(none, 0);
        assert!(runs > 20, "{runs} runs");
        assert_eq!(memory, spilled);
        assert!(
            memory.distinct > 3_000 && memory.immigration > 0 && memory.side_door > 0,
            "{memory:?}"
        );
        assert_eq!(memory.repeated_rows + memory.distinct, memory.rows);
    }

    #[test]
    fn a_search_in_two_files_counts_once_and_keeps_the_flag_of_either_copy() {
        let mut ids = IdSet::default();
        let a = id_hash("23D55B89-42eb-4f5c-9281-f5e8bf4864be");
        let b = id_hash(" 23d55b89-42eb-4f5c-9281-f5e8bf4864be ");
        assert_eq!(a, b);
        ids.add(Some(a), 0).unwrap(); // the copy whose reason was masked
        ids.add(Some(b), IMMIGRATION | SIDE_DOOR).unwrap(); // the copy that says why
        ids.add(Some(id_hash("other")), 0).unwrap();
        ids.add(None, AGENCY).unwrap();
        let s = ids.finish().unwrap();
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
