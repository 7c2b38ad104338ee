//! Tile coordinates and their C2SP tlog-tiles paths (`tile/<L>/<N>[.p/<W>]`).
use std::fmt::Write as _;

/// Hashes (or entries) in a full tile.
pub const TILE_WIDTH: u64 = 256;
/// Binary tree levels one tile level spans.
pub const TILE_HEIGHT: u32 = 8;
/// Bytes in a full hash tile.
pub const FULL_TILE_BYTES: usize = 256 * 32;

/// What a tile holds: Merkle hashes at a tile level, or the entries themselves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TileKind {
    /// Hashes at tile level L (level 0 holds leaf hashes).
    Hashes(u8),
    /// An entry bundle.
    Entries,
}

/// One tile or entry bundle: its kind, index within its level, and width (1..=256).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TileId {
    pub kind: TileKind,
    pub index: u64,
    pub width: u16,
}

impl TileId {
    pub fn hashes(level: u8, index: u64, width: u16) -> Self {
        TileId {
            kind: TileKind::Hashes(level),
            index,
            width,
        }
    }

    pub fn entries(index: u64, width: u16) -> Self {
        TileId {
            kind: TileKind::Entries,
            index,
            width,
        }
    }

    pub fn is_full(&self) -> bool {
        u64::from(self.width) == TILE_WIDTH
    }

    /// The path relative to the log's prefix, e.g. `tile/0/x001/x234/067.p/8`.
    pub fn path(&self) -> String {
        let mut p = String::from("tile/");
        match self.kind {
            TileKind::Hashes(level) => {
                let _ = write!(p, "{level}/");
            }
            TileKind::Entries => p.push_str("entries/"),
        }
        p.push_str(&encode_index(self.index));
        if !self.is_full() {
            let _ = write!(p, ".p/{}", self.width);
        }
        p
    }

    /// The directory holding every partial version of this tile (`<path>.p`).
    pub fn partial_dir(&self) -> String {
        let full = TileId {
            width: 256,
            ..*self
        };
        format!("{}.p", full.path())
    }
}

/// Encodes a tile index as zero-padded 3-digit path elements, all but the last prefixed by `x`.
pub fn encode_index(mut n: u64) -> String {
    let mut groups = vec![n % 1000];
    n /= 1000;
    while n > 0 {
        groups.push(n % 1000);
        n /= 1000;
    }
    let last = groups.len() - 1;
    let mut out = String::new();
    for (i, g) in groups.iter().rev().enumerate() {
        if i < last {
            let _ = write!(out, "x{g:03}/");
        } else {
            let _ = write!(out, "{g:03}");
        }
    }
    out
}

/// How many hashes exist at tile level `level` in a tree of `size` leaves.
pub fn hashes_at_level(size: u64, level: u8) -> u64 {
    let shift = u32::from(level) * TILE_HEIGHT;
    if shift >= 64 {
        0
    } else {
        size >> shift
    }
}

/// The tile at `level` with index `index` as it stands in a tree of `size` leaves, if any.
pub fn tile_in_tree(size: u64, level: u8, index: u64) -> Option<TileId> {
    let count = hashes_at_level(size, level);
    let start = index.checked_mul(TILE_WIDTH)?;
    if count <= start {
        return None;
    }
    let width = (count - start).min(TILE_WIDTH) as u16;
    Some(TileId::hashes(level, index, width))
}

/// The entry bundle with index `index` as it stands in a tree of `size` leaves, if any.
pub fn bundle_in_tree(size: u64, index: u64) -> Option<TileId> {
    tile_in_tree(size, 0, index).map(|t| TileId::entries(t.index, t.width))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_encoding_matches_spec_example() {
        assert_eq!(encode_index(1234067), "x001/x234/067");
        assert_eq!(encode_index(0), "000");
        assert_eq!(encode_index(999), "999");
        assert_eq!(encode_index(1000), "x001/000");
    }

    #[test]
    fn paths_for_full_and_partial_tiles() {
        assert_eq!(TileId::hashes(0, 0, 15).path(), "tile/0/000.p/15");
        assert_eq!(
            TileId::hashes(2, 1234067, 256).path(),
            "tile/2/x001/x234/067"
        );
        assert_eq!(TileId::entries(3, 1).path(), "tile/entries/003.p/1");
        assert_eq!(TileId::entries(3, 7).partial_dir(), "tile/entries/003.p");
    }

    #[test]
    fn tree_of_70000_has_the_tiles_the_spec_lists() {
        // The spec's example: 273 full level-0 tiles and a partial of width 112, one full
        // level-1 tile and a partial of 17, and a level-2 partial of width 1.
        assert_eq!(tile_in_tree(70_000, 0, 272).map(|t| t.width), Some(256));
        assert_eq!(tile_in_tree(70_000, 0, 273).map(|t| t.width), Some(112));
        assert_eq!(tile_in_tree(70_000, 0, 274), None);
        assert_eq!(tile_in_tree(70_000, 1, 0).map(|t| t.width), Some(256));
        assert_eq!(tile_in_tree(70_000, 1, 1).map(|t| t.width), Some(17));
        assert_eq!(tile_in_tree(70_000, 2, 0).map(|t| t.width), Some(1));
        assert_eq!(tile_in_tree(70_000, 3, 0), None);
    }
}
