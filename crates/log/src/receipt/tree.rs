//! The Merkle tree of one commit batch, built once so that every entry's audit path
//! costs a few lookups instead of a walk over the batch.
use crate::hash::{largest_power_of_two_below, node_hash, Hash};

/// Every level of the RFC 6962 tree over a batch's leaf hashes, leaves first. A level
/// of odd length passes its last node up unpaired, which is exactly where RFC 6962
/// splits a tree whose size is not a power of two.
pub(crate) struct BatchTree {
    levels: Vec<Vec<Hash>>,
}

impl BatchTree {
    /// The tree over `leaves`, which must not be empty.
    pub(crate) fn new(leaves: Vec<Hash>) -> BatchTree {
        debug_assert!(!leaves.is_empty());
        let mut levels = vec![leaves];
        while let Some(below) = levels.last().filter(|l| l.len() > 1) {
            let above = below
                .chunks(2)
                .map(|pair| match pair {
                    [l, r] => node_hash(l, r),
                    [single] => *single,
                    _ => unreachable!("chunks(2) yields one or two"),
                })
                .collect();
            levels.push(above);
        }
        BatchTree { levels }
    }

    pub(crate) fn root(&self) -> Hash {
        self.levels.last().map_or([0; 32], |top| top[0])
    }

    pub(crate) fn leaf(&self, position: usize) -> Hash {
        self.levels[0][position]
    }

    /// The audit path of leaf `position`, its sibling first, as RFC 6962 defines it.
    pub(crate) fn path(&self, position: usize) -> Vec<Hash> {
        let mut path = Vec::with_capacity(self.levels.len());
        let mut i = position;
        for level in &self.levels[..self.levels.len() - 1] {
            let sibling = i ^ 1;
            if sibling < level.len() {
                path.push(level[sibling]);
            }
            i /= 2;
        }
        path
    }
}

/// The leaf ranges `[start, end)`, relative to the batch, that the hashes of the audit
/// path of leaf `position` in a batch of `size` stand for, in path order.
pub fn path_ranges(position: u64, size: u64) -> Vec<(u64, u64)> {
    let mut ranges = Vec::new();
    let (mut lo, mut hi, mut m) = (0u64, size, position);
    while hi - lo > 1 {
        let k = largest_power_of_two_below(hi - lo);
        if m < k {
            ranges.push((lo + k, hi));
            hi = lo + k;
        } else {
            ranges.push((lo, lo + k));
            lo += k;
            m -= k;
        }
    }
    ranges.reverse();
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{leaf_hash, list_root};
    use crate::merkle::{inclusion_proof, verify_inclusion, HashSource, ProofError};

    struct Leaves(Vec<Hash>);

    impl HashSource for Leaves {
        type Error = ProofError;
        fn node(&mut self, height: u32, index: u64) -> Result<Hash, ProofError> {
            let (a, b) = ((index << height) as usize, ((index + 1) << height) as usize);
            Ok(list_root(&self.0[a..b]))
        }
    }

    #[test]
    fn batch_paths_are_the_rfc_6962_inclusion_proofs() {
        for n in 1..=70usize {
            let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect();
            let tree = BatchTree::new(leaves.clone());
            assert_eq!(tree.root(), list_root(&leaves), "root of {n}");
            let mut src = Leaves(leaves.clone());
            for m in 0..n {
                let path = tree.path(m);
                let want = inclusion_proof(&mut src, m as u64, n as u64).unwrap();
                assert_eq!(path, want, "path of {m} in {n}");
                verify_inclusion(&leaves[m], m as u64, n as u64, &path, &tree.root()).unwrap();
                let ranges = path_ranges(m as u64, n as u64);
                assert_eq!(ranges.len(), path.len());
                for ((a, b), h) in ranges.iter().zip(&path) {
                    assert_eq!(list_root(&leaves[*a as usize..*b as usize]), *h);
                }
            }
        }
    }
}
