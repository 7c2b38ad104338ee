//! The stack-wide classes of every read dimension: which literal a request's value equals
//! (or none), which flag words it carries, yes or no. A request becomes one small number
//! per dimension, computed from typed values with a few string comparisons.

use super::dims::{Dim, Kind, Values, COUNT};
use super::scan::Reads;
use crate::engine::Facts;

/// One class index per dimension (0 for dimensions nothing reads).
pub(crate) type Classes = [u16; COUNT];

#[derive(Debug)]
pub(crate) struct Domain {
    /// The dimensions some policy reads, in [`Dim`] order.
    read: Vec<Dim>,
    /// Every literal each dimension is compared with anywhere in the stack, sorted.
    lits: [Vec<String>; COUNT],
    /// A value of each text dimension equal to none of its literals.
    other: [String; COUNT],
}

impl Domain {
    pub fn new(reads: &Reads) -> Domain {
        let mut lits: [Vec<String>; COUNT] = Default::default();
        let mut other: [String; COUNT] = Default::default();
        for (dim, set) in &reads.lits {
            lits[dim.index()] = set.iter().cloned().collect();
            other[dim.index()] = unlike(set.iter().map(String::as_str));
        }
        Domain {
            read: reads.lits.keys().copied().collect(),
            lits,
            other,
        }
    }

    pub fn read(&self) -> &[Dim] {
        &self.read
    }

    pub fn lits(&self, dim: Dim) -> &[String] {
        &self.lits[dim.index()]
    }

    /// How many stack-wide classes a dimension has.
    pub fn count(&self, dim: Dim) -> usize {
        let n = self.lits[dim.index()].len();
        match dim.kind() {
            Kind::Text => n + 1,
            Kind::YesNo => 2,
            Kind::Words => 1 << n,
        }
    }

    /// The class of each read dimension of `f`.
    pub fn classes(&self, f: &Facts<'_>) -> Classes {
        let mut out = [0u16; COUNT];
        for &dim in &self.read {
            out[dim.index()] = self.class(dim, f);
        }
        out
    }

    fn class(&self, dim: Dim, f: &Facts<'_>) -> u16 {
        let lits = &self.lits[dim.index()];
        let class = match dim.kind() {
            Kind::YesNo => usize::from(dim.yes_no(f)),
            Kind::Text => {
                let value = dim.text(f);
                lits.iter().position(|l| l == value).unwrap_or(lits.len())
            }
            Kind::Words => f.flags.iter().fold(0usize, |mask, word| {
                match lits.iter().position(|l| l == word) {
                    Some(bit) => mask | (1 << bit),
                    None => mask,
                }
            }),
        };
        // Classes are bounded by the scan (at most 2^10 flag sets, one per literal).
        u16::try_from(class).unwrap_or(u16::MAX)
    }

    /// Values that read as nothing in particular: every text a non-literal, no flags.
    pub fn base(&self) -> Values {
        Values {
            text: self.other.clone(),
            ..Values::default()
        }
    }

    pub fn other(&self, dim: Dim) -> &str {
        &self.other[dim.index()]
    }
}

/// A string equal to none of `lits`.
fn unlike<'a>(lits: impl Iterator<Item = &'a str> + Clone) -> String {
    let mut candidate = String::from("\u{1}none-of-the-literals");
    while lits.clone().any(|l| l == candidate) {
        candidate.push('\u{1}');
    }
    candidate
}
