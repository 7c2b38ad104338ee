//! RFC 6962 Merkle tree hashing: the only hash functions the log uses.
use sha2::{Digest, Sha256};

/// A SHA-256 Merkle tree hash.
pub type Hash = [u8; 32];

/// The size of one hash in a tile.
pub const HASH_SIZE: usize = 32;

/// `SHA-256(0x00 || entry)`: the hash of a leaf (RFC 6962, section 2.1).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`: the hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    Sha256::digest(b"").into()
}

/// Plain SHA-256, for key IDs and benchmarks.
pub fn sha256(data: &[u8]) -> Hash {
    Sha256::digest(data).into()
}

/// The Merkle tree hash of a non-empty, power-of-two-sized list of hashes, reduced in place.
///
/// Tiles hold 256 such hashes; the node they stand for is this reduction.
pub fn perfect_root(hashes: &[Hash]) -> Hash {
    debug_assert!(hashes.len().is_power_of_two());
    let mut level: Vec<Hash> = hashes.to_vec();
    while level.len() > 1 {
        level = level
            .chunks_exact(2)
            .map(|p| node_hash(&p[0], &p[1]))
            .collect();
    }
    level[0]
}

/// The Merkle tree hash of any non-empty list of hashes, split the RFC 6962 way.
pub fn list_root(hashes: &[Hash]) -> Hash {
    match hashes.len() {
        0 => empty_root(),
        1 => hashes[0],
        n => {
            let k = largest_power_of_two_below(n as u64) as usize;
            node_hash(&list_root(&hashes[..k]), &list_root(&hashes[k..]))
        }
    }
}

/// The largest power of two strictly smaller than `n` (`n` ≥ 2): RFC 6962's split point.
pub fn largest_power_of_two_below(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        let hex: String = empty_root().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn split_point_is_largest_power_of_two_below() {
        assert_eq!(largest_power_of_two_below(2), 1);
        assert_eq!(largest_power_of_two_below(3), 2);
        assert_eq!(largest_power_of_two_below(4), 2);
        assert_eq!(largest_power_of_two_below(5), 4);
        assert_eq!(largest_power_of_two_below(257), 256);
    }

    #[test]
    fn perfect_and_list_roots_agree_on_powers_of_two() {
        let leaves: Vec<Hash> = (0u8..8).map(|i| leaf_hash(&[i])).collect();
        assert_eq!(perfect_root(&leaves), list_root(&leaves));
    }
}
