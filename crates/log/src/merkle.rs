//! Inclusion and consistency proofs (RFC 6962 / RFC 9162): made from any source of
//! perfect-subtree hashes, and checked against nothing but hashes.
use thiserror::Error;

use crate::hash::{largest_power_of_two_below, node_hash, Hash};

/// Why a proof could not be made or does not hold.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ProofError {
    #[error("index {index} is not in a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("old size {old} is larger than new size {new}")]
    OldLargerThanNew { old: u64, new: u64 },
    #[error("the proof has the wrong number of hashes ({got}, expected {expected})")]
    WrongLength { got: usize, expected: usize },
    #[error("the proof does not lead to the expected root hash")]
    RootMismatch,
}

/// A source of hashes of perfect subtrees: `node(height, index)` is the root of leaves
/// `[index << height, (index + 1) << height)`.
pub trait HashSource {
    type Error: From<ProofError>;
    fn node(&mut self, height: u32, index: u64) -> Result<Hash, Self::Error>;
}

/// The Merkle tree hash of leaves `[start, end)`, `start < end`, built from perfect subtrees.
pub fn subtree_root<S: HashSource>(src: &mut S, start: u64, end: u64) -> Result<Hash, S::Error> {
    let n = end - start;
    if n.is_power_of_two() && start.is_multiple_of(n) {
        return src.node(n.trailing_zeros(), start >> n.trailing_zeros());
    }
    let k = largest_power_of_two_below(n);
    let left = subtree_root(src, start, start + k)?;
    let right = subtree_root(src, start + k, end)?;
    Ok(node_hash(&left, &right))
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves, leaf's sibling first.
pub fn inclusion_proof<S: HashSource>(
    src: &mut S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, S::Error> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size }.into());
    }
    let mut proof = Vec::new();
    let (mut lo, mut hi, mut m) = (0u64, size, index);
    // Walk down from the root, remembering the sibling subtree at each split.
    let mut siblings = Vec::new();
    while hi - lo > 1 {
        let k = largest_power_of_two_below(hi - lo);
        if m < k {
            siblings.push((lo + k, hi));
            hi = lo + k;
        } else {
            siblings.push((lo, lo + k));
            lo += k;
            m -= k;
        }
    }
    for (a, b) in siblings.into_iter().rev() {
        proof.push(subtree_root(src, a, b)?);
    }
    Ok(proof)
}

/// The consistency proof from a tree of `old` leaves to one of `new` leaves (RFC 6962 2.1.2).
pub fn consistency_proof<S: HashSource>(
    src: &mut S,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, S::Error> {
    if old > new {
        return Err(ProofError::OldLargerThanNew { old, new }.into());
    }
    if old == 0 || old == new {
        return Ok(Vec::new());
    }
    // SUBPROOF(m, D[lo:hi], b), unrolled: collect from the root down, emit reversed.
    let mut stack = Vec::new();
    let (mut lo, mut hi, mut m, mut complete) = (0u64, new, old, true);
    loop {
        let n = hi - lo;
        if m == n {
            if !complete {
                stack.push((lo, hi));
            }
            break;
        }
        let k = largest_power_of_two_below(n);
        if m <= k {
            stack.push((lo + k, hi));
            hi = lo + k;
        } else {
            stack.push((lo, lo + k));
            lo += k;
            m -= k;
            complete = false;
        }
    }
    let mut proof = Vec::with_capacity(stack.len());
    for (a, b) in stack.into_iter().rev() {
        proof.push(subtree_root(src, a, b)?);
    }
    Ok(proof)
}

/// Checks that `leaf` is at `index` in the tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_len(index, size);
    if proof.len() != expected {
        return Err(ProofError::WrongLength {
            got: proof.len(),
            expected,
        });
    }
    let (mut fnode, mut snode, mut r) = (index, size - 1, *leaf);
    for p in proof {
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode == 0 && r == *root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// Checks that the tree of `old` leaves with root `old_root` is a prefix of the tree of
/// `new` leaves with root `new_root`.
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old > new {
        return Err(ProofError::OldLargerThanNew { old, new });
    }
    if old == new || old == 0 {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength {
                got: proof.len(),
                expected: 0,
            });
        }
        return if old == 0 || old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    let expected = consistency_len(old, new);
    if proof.len() != expected {
        return Err(ProofError::WrongLength {
            got: proof.len(),
            expected,
        });
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let (mut fnode, mut snode) = (old - 1, new - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if snode == 0 {
            return Err(ProofError::RootMismatch);
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode == 0 && fr == *old_root && sr == *new_root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

fn inclusion_len(index: u64, size: u64) -> usize {
    let (mut lo, mut hi, mut m, mut n) = (0u64, size, index, 0usize);
    while hi - lo > 1 {
        let k = largest_power_of_two_below(hi - lo);
        if m < k {
            hi = lo + k;
        } else {
            lo += k;
            m -= k;
        }
        n += 1;
    }
    n
}

fn consistency_len(old: u64, new: u64) -> usize {
    let (mut lo, mut hi, mut m, mut complete, mut n) = (0u64, new, old, true, 0usize);
    loop {
        let size = hi - lo;
        if m == size {
            return n + usize::from(!complete);
        }
        let k = largest_power_of_two_below(size);
        if m <= k {
            hi = lo + k;
        } else {
            lo += k;
            m -= k;
            complete = false;
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{leaf_hash, list_root};
    use proptest::prelude::*;

    /// A tree held in memory, hashed the naive recursive way, as the reference.
    struct Naive(Vec<Hash>);

    impl HashSource for Naive {
        type Error = ProofError;
        fn node(&mut self, height: u32, index: u64) -> Result<Hash, ProofError> {
            let start = (index << height) as usize;
            Ok(list_root(&self.0[start..start + (1usize << height)]))
        }
    }

    fn tree(n: u64) -> Naive {
        Naive((0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect())
    }

    fn root(t: &Naive, n: u64) -> Hash {
        list_root(&t.0[..n as usize])
    }

    proptest! {
        #[test]
        fn every_inclusion_proof_verifies_and_no_tampered_one_does(
            size in 1u64..600, index_seed in any::<u64>(), flip in any::<(usize, u8)>()
        ) {
            let mut t = tree(size);
            let index = index_seed % size;
            let proof = inclusion_proof(&mut t, index, size).unwrap();
            let r = root(&t, size);
            let leaf = t.0[index as usize];
            prop_assert_eq!(verify_inclusion(&leaf, index, size, &proof, &r), Ok(()));
            if !proof.is_empty() {
                let mut bad = proof.clone();
                let (i, bit) = flip;
                bad[i % proof.len()][i % 32] ^= 1 << (bit % 8);
                prop_assert!(verify_inclusion(&leaf, index, size, &bad, &r).is_err());
            }
            if size > 1 {
                let other = (index + 1) % size;
                prop_assert!(verify_inclusion(&leaf, other, size, &proof, &r).is_err());
            }
        }

        #[test]
        fn every_consistency_proof_verifies_and_no_fork_does(
            new in 1u64..600, old_seed in any::<u64>(), flip in any::<(usize, u8)>()
        ) {
            let mut t = tree(new);
            let old = old_seed % (new + 1);
            let proof = consistency_proof(&mut t, old, new).unwrap();
            let (ro, rn) = (root(&t, old), root(&t, new));
            prop_assert_eq!(verify_consistency(old, new, &ro, &rn, &proof), Ok(()));
            if !proof.is_empty() {
                let mut bad = proof.clone();
                let (i, bit) = flip;
                bad[i % proof.len()][i % 32] ^= 1 << (bit % 8);
                prop_assert!(verify_consistency(old, new, &ro, &rn, &bad).is_err());
            }
            if old > 0 && old < new {
                // A fork: the same old size with a different history.
                let mut forked = ro;
                forked[0] ^= 1;
                prop_assert!(verify_consistency(old, new, &forked, &rn, &proof).is_err());
            }
        }
    }

    #[test]
    fn proof_of_leaf_outside_tree_is_refused() {
        let mut t = tree(4);
        assert_eq!(
            inclusion_proof(&mut t, 4, 4),
            Err(ProofError::IndexOutOfRange { index: 4, size: 4 })
        );
        assert_eq!(
            consistency_proof(&mut t, 5, 4),
            Err(ProofError::OldLargerThanNew { old: 5, new: 4 })
        );
    }
}
