//! The tree recomputed from hash tiles alone: every tile above level 0 is checked against
//! the level below, and the hashes kept make proofs the way any client would.
use cordon_log::hash::{empty_root, perfect_root, Hash};
use cordon_log::merkle::{subtree_root, HashSource, ProofError};
use cordon_log::tile::{hashes_at_level, tile_in_tree, TILE_HEIGHT, TILE_WIDTH};

use super::source::Source;
use super::VerifyError;

/// Every hash the tiles store, by tile level: `levels[L]` holds the tree's nodes at
/// height `8 * L`, left to right. 32 bytes per entry, and 1/256 of that per level above.
pub struct TileTree {
    size: u64,
    levels: Vec<Vec<Hash>>,
}

impl TileTree {
    /// Fetches every hash tile of a tree of `size` and checks each tile above level 0
    /// against the hashes of the level below.
    pub async fn fetch(source: &Source, size: u64) -> Result<TileTree, VerifyError> {
        let mut levels: Vec<Vec<Hash>> = Vec::new();
        let mut level = 0u8;
        while hashes_at_level(size, level) > 0 {
            let count = hashes_at_level(size, level);
            let hashes = fetch_level(source, size, level, count).await?;
            if let Some(below) = levels.last() {
                check_level(below, &hashes, level)?;
            }
            levels.push(hashes);
            level += 1;
        }
        Ok(TileTree { size, levels })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root of the first `size` leaves (`size` at most the tree's).
    pub fn root_at(&mut self, size: u64) -> Result<Hash, ProofError> {
        if size == 0 {
            return Ok(empty_root());
        }
        if size > self.size {
            return Err(ProofError::IndexOutOfRange {
                index: size - 1,
                size: self.size,
            });
        }
        subtree_root(self, 0, size)
    }

    /// Leaf `index`'s hash, as level-0 tiles hold it.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        self.levels.first()?.get(index as usize).copied()
    }

    /// The leaf hashes of indexes `[start, end)`, if the tree has them all.
    pub fn leaves(&self, start: u64, end: u64) -> Option<&[Hash]> {
        let (start, end) = (usize::try_from(start).ok()?, usize::try_from(end).ok()?);
        self.levels.first()?.get(start..end)
    }

    /// The first index below `size` whose leaf hash is `leaf`.
    pub fn find_leaf(&self, leaf: &Hash, size: u64) -> Option<u64> {
        let level = self.levels.first()?;
        let size = usize::try_from(size).map_or(level.len(), |s| s.min(level.len()));
        level[..size]
            .iter()
            .position(|h| h == leaf)
            .map(|i| i as u64)
    }
}

/// Tiles fetched at once from a URL: enough to hide round trips, few enough to be a
/// polite client of a static file server.
const IN_FLIGHT: usize = 16;

/// All `count` hashes of tile level `level`, in order.
async fn fetch_level(
    source: &Source,
    size: u64,
    level: u8,
    count: u64,
) -> Result<Vec<Hash>, VerifyError> {
    let ids = (0..count.div_ceil(TILE_WIDTH))
        .map(|t| {
            tile_in_tree(size, level, t).ok_or_else(|| VerifyError::Tree {
                why: format!("tile arithmetic disagrees with size {size}"),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut hashes = Vec::with_capacity(count as usize);
    if source.dir().is_some() {
        for id in ids {
            hashes.extend(source.hash_tile(id, size).await?);
        }
        return Ok(hashes);
    }
    let mut tiles: Vec<Option<Vec<Hash>>> = vec![None; ids.len()];
    let mut tasks = tokio::task::JoinSet::new();
    let mut next = ids.iter().enumerate();
    loop {
        while tasks.len() < IN_FLIGHT {
            let Some((i, &id)) = next.next() else { break };
            let source = source.clone();
            tasks.spawn(async move { (i, source.hash_tile(id, size).await) });
        }
        let Some(done) = tasks.join_next().await else {
            break;
        };
        let (i, tile) = done.map_err(|e| VerifyError::Tree {
            why: format!("a tile fetch stopped unexpectedly: {e}"),
        })?;
        tiles[i] = Some(tile?);
    }
    for tile in tiles {
        hashes.extend(tile.ok_or_else(|| VerifyError::Tree {
            why: "a tile was never fetched".into(),
        })?);
    }
    Ok(hashes)
}

/// Each hash at tile level `level` must be the root of the 256 hashes under it.
fn check_level(below: &[Hash], here: &[Hash], level: u8) -> Result<(), VerifyError> {
    let full = below.len() / TILE_WIDTH as usize;
    if here.len() != full {
        return Err(VerifyError::Tree {
            why: format!(
                "tile level {level} has {} hashes; the level below makes {full}",
                here.len()
            ),
        });
    }
    for (i, chunk) in below.chunks_exact(TILE_WIDTH as usize).enumerate() {
        if perfect_root(chunk) != here[i] {
            return Err(VerifyError::Tree {
                why: format!(
                    "hash {} of tile level {level} (tile {}) is not the root of the 256 hashes below it",
                    i % TILE_WIDTH as usize,
                    i / TILE_WIDTH as usize
                ),
            });
        }
    }
    Ok(())
}

impl HashSource for TileTree {
    type Error = ProofError;

    fn node(&mut self, height: u32, index: u64) -> Result<Hash, ProofError> {
        let level = (height / TILE_HEIGHT) as usize;
        let rest = height % TILE_HEIGHT;
        let start = (index << rest) as usize;
        let end = ((index + 1) << rest) as usize;
        let size = self.size;
        let out_of_range = || ProofError::IndexOutOfRange {
            index: index << height,
            size,
        };
        let hashes = self.levels.get(level).ok_or_else(out_of_range)?;
        let slice = hashes.get(start..end).ok_or_else(out_of_range)?;
        Ok(perfect_root(slice))
    }
}
