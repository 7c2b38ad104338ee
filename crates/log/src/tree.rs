//! The right edge of the tree (the rightmost partial tile at each level and the partial
//! entry bundle): all the integrator needs to extend the tree and compute its root.
use std::path::Path;

use crate::bundle;
use crate::error::LogError;
use crate::fs::{decode_bundle, read_hash_tile_on, read_tile_file_on};
use crate::hash::{empty_root, leaf_hash, node_hash, perfect_root, Hash};
use crate::storage::{RealDisk, Storage};
use crate::tile::{bundle_in_tree, hashes_at_level, tile_in_tree, TileId, TILE_WIDTH};

/// A file the integrator must write: a hash tile or an entry bundle.
pub struct TileWrite {
    pub id: TileId,
    pub data: Vec<u8>,
}

/// The rightmost, not yet full, tile at every level, and the partial bundle.
#[derive(Clone, Debug, Default)]
pub struct TreeEdge {
    size: u64,
    /// `levels[l]` holds the hashes of the partial tile at tile level `l`.
    levels: Vec<Vec<Hash>>,
    /// The encoded entries of the partial bundle.
    bundle: Vec<u8>,
}

impl TreeEdge {
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Reads the partial tiles and bundle of a tree of `size` from disk.
    pub fn load(root: &Path, size: u64) -> Result<TreeEdge, LogError> {
        Self::load_on(&RealDisk, root, size)
    }

    /// [`TreeEdge::load`] from the given storage.
    pub fn load_on(disk: &dyn Storage, root: &Path, size: u64) -> Result<TreeEdge, LogError> {
        let mut levels = Vec::new();
        let mut level = 0u8;
        while hashes_at_level(size, level) > 0 {
            let count = hashes_at_level(size, level);
            let partial = count % TILE_WIDTH;
            let hashes = match tile_in_tree(size, level, count / TILE_WIDTH) {
                Some(id) if partial > 0 => read_hash_tile_on(disk, root, id, size)?,
                _ => Vec::new(),
            };
            levels.push(hashes);
            level += 1;
        }
        let mut bundle = Vec::new();
        if !size.is_multiple_of(TILE_WIDTH) {
            if let Some(id) = bundle_in_tree(size, size / TILE_WIDTH) {
                let (path, data) = read_tile_file_on(disk, root, id, size)?;
                bundle = bundle::encode(decode_bundle(root, id, &path, &data)?);
            }
        }
        Ok(TreeEdge {
            size,
            levels,
            bundle,
        })
    }

    /// The tree's root hash.
    pub fn root(&self) -> Hash {
        edge_root(&self.levels)
    }

    /// Adds entries, returning every tile and bundle that must be written for the new size.
    pub fn extend<'a>(&mut self, entries: impl IntoIterator<Item = &'a [u8]>) -> Vec<TileWrite> {
        self.extend_hashed(entries.into_iter().map(|e| (e, leaf_hash(e))))
    }

    /// As [`TreeEdge::extend`], with each entry's leaf hash already computed (by the
    /// sequencer, which minted the entry's receipt from the same hash).
    pub fn extend_hashed<'a>(
        &mut self,
        entries: impl IntoIterator<Item = (&'a [u8], Hash)>,
    ) -> Vec<TileWrite> {
        let old_size = self.size;
        let mut writes = Vec::new();
        for (e, leaf) in entries {
            bundle::push_entry(&mut self.bundle, e);
            self.size += 1;
            if self.size.is_multiple_of(TILE_WIDTH) {
                // The next bundle will be about as large: start it at that size rather
                // than growing it by copies from nothing.
                let next = Vec::with_capacity(self.bundle.len());
                writes.push(TileWrite {
                    id: TileId::entries(self.size / TILE_WIDTH - 1, 256),
                    data: std::mem::replace(&mut self.bundle, next),
                });
            }
            self.push_hash(0, leaf, &mut writes);
        }
        self.partial_writes(old_size, &mut writes);
        writes
    }

    fn push_hash(&mut self, level: usize, h: Hash, writes: &mut Vec<TileWrite>) {
        if self.levels.len() == level {
            self.levels.push(Vec::new());
        }
        self.levels[level].push(h);
        if self.levels[level].len() as u64 == TILE_WIDTH {
            let full = std::mem::take(&mut self.levels[level]);
            let up = perfect_root(&full);
            let index = hashes_at_level(self.size, level as u8) / TILE_WIDTH - 1;
            writes.push(TileWrite {
                id: TileId::hashes(level as u8, index, 256),
                data: full.concat(),
            });
            self.push_hash(level + 1, up, writes);
        }
    }

    fn partial_writes(&self, old_size: u64, writes: &mut Vec<TileWrite>) {
        if self.size == old_size {
            return;
        }
        for (level, hashes) in self.levels.iter().enumerate() {
            let l = level as u8;
            let changed = hashes_at_level(self.size, l) != hashes_at_level(old_size, l);
            if changed && !hashes.is_empty() {
                let index = hashes_at_level(self.size, l) / TILE_WIDTH;
                writes.push(TileWrite {
                    id: TileId::hashes(l, index, hashes.len() as u16),
                    data: hashes.concat(),
                });
            }
        }
        let width = self.size % TILE_WIDTH;
        if width > 0 {
            writes.push(TileWrite {
                id: TileId::entries(self.size / TILE_WIDTH, width as u16),
                data: self.bundle.clone(),
            });
        }
    }
}

/// The root of a tree given the hashes of its rightmost partial tile at every level.
pub fn edge_root(levels: &[Vec<Hash>]) -> Hash {
    // The tree is a sequence of perfect subtrees of decreasing size, read left to right
    // from the highest level down; RFC 6962's root folds them from the right.
    let mut subtrees = Vec::new();
    for hashes in levels.iter().rev() {
        let mut offset = 0;
        for bit in (0..8).rev() {
            let n = 1usize << bit;
            if hashes.len() & n != 0 {
                subtrees.push(perfect_root(&hashes[offset..offset + n]));
                offset += n;
            }
        }
    }
    let mut iter = subtrees.into_iter().rev();
    let Some(mut acc) = iter.next() else {
        return empty_root();
    };
    for left in iter {
        acc = node_hash(&left, &acc);
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::list_root;

    #[test]
    fn root_matches_naive_tree_across_tile_boundaries() {
        let mut edge = TreeEdge::default();
        let mut leaves = Vec::new();
        for batch in [1usize, 2, 200, 53, 256, 1, 65536 - 513, 300] {
            let entries: Vec<Vec<u8>> = (0..batch)
                .map(|i| format!("e{}-{i}", leaves.len()).into_bytes())
                .collect();
            leaves.extend(entries.iter().map(|e| leaf_hash(e)));
            edge.extend(entries.iter().map(Vec::as_slice));
            assert_eq!(edge.root(), list_root(&leaves), "size {}", leaves.len());
        }
    }

    #[test]
    fn completing_a_tile_writes_it_full_and_the_level_above() {
        let mut edge = TreeEdge::default();
        let entries: Vec<Vec<u8>> = (0..256u32).map(|i| i.to_be_bytes().to_vec()).collect();
        let writes = edge.extend(entries.iter().map(Vec::as_slice));
        let paths: Vec<String> = writes.iter().map(|w| w.id.path()).collect();
        assert_eq!(paths, ["tile/entries/000", "tile/0/000", "tile/1/000.p/1"]);
    }
}
