//! Durable file operations: atomic replacement, directory fsync, and reading tiles back.
use std::collections::{BTreeSet, HashMap};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::LogError;
use crate::hash::{perfect_root, Hash, HASH_SIZE};
use crate::merkle::{HashSource, ProofError};
use crate::tile::{tile_in_tree, TileId, TILE_HEIGHT, TILE_WIDTH};

/// Fsyncs a directory so that the names created or renamed in it survive a crash.
pub fn sync_dir(dir: &Path) -> Result<(), LogError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(LogError::io(dir))
}

/// Writes files so that each appears whole or not at all, and all are durable at `finish`.
///
/// Files are written first and fsynced together at the end from several threads: the
/// filesystem journal then commits many of them at once, which on the disks measured here
/// is the difference between ~3.5 ms per tile and ~0.3 ms (see BENCHMARKS.md).
pub struct AtomicWriter<'a> {
    root: &'a Path,
    files: Vec<(PathBuf, PathBuf)>,
    dirs: BTreeSet<PathBuf>,
}

/// Threads that fsync at once; they wait on the disk, not the CPU.
const SYNC_THREADS: usize = 16;

impl<'a> AtomicWriter<'a> {
    pub fn new(root: &'a Path) -> Self {
        AtomicWriter {
            root,
            files: Vec::new(),
            dirs: BTreeSet::new(),
        }
    }

    /// Writes `data` to a temporary file beside `rel`; `finish` makes it durable and
    /// renames it into place.
    pub fn write(&mut self, rel: &str, data: &[u8]) -> Result<(), LogError> {
        let path = self.root.join(rel);
        let parent = path.parent().unwrap_or(self.root).to_path_buf();
        if !parent.exists() {
            fs::create_dir_all(&parent).map_err(LogError::io(&parent))?;
            // New directories are names in their parents: those must be synced too.
            let mut p = parent.as_path();
            while let Some(up) = p.parent() {
                self.dirs.insert(up.to_path_buf());
                if up == self.root {
                    break;
                }
                p = up;
            }
        }
        let tmp = tmp_path(&path);
        let mut f = File::create(&tmp).map_err(LogError::io(&tmp))?;
        f.write_all(data).map_err(LogError::io(&tmp))?;
        self.files.push((tmp, path));
        self.dirs.insert(parent);
        Ok(())
    }

    /// Fsyncs every file, renames each into place, and fsyncs the directories.
    pub fn finish(self) -> Result<(), LogError> {
        let tmps: Vec<&Path> = self.files.iter().map(|(t, _)| t.as_path()).collect();
        parallel(&tmps, |p| {
            File::open(p)
                .and_then(|f| f.sync_data())
                .map_err(LogError::io(p))
        })?;
        for (tmp, path) in &self.files {
            fs::rename(tmp, path).map_err(LogError::io(path))?;
        }
        let dirs: Vec<&Path> = self.dirs.iter().map(PathBuf::as_path).collect();
        parallel(&dirs, sync_dir)
    }
}

/// Runs `f` over `items` on up to [`SYNC_THREADS`] threads; the first error wins.
fn parallel(
    items: &[&Path],
    f: impl Fn(&Path) -> Result<(), LogError> + Sync,
) -> Result<(), LogError> {
    if items.len() <= 1 {
        return items.iter().try_for_each(|p| f(p));
    }
    let per = items.len().div_ceil(SYNC_THREADS);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(per)
            .map(|chunk| s.spawn(|| chunk.iter().try_for_each(|p| f(p))))
            .collect();
        handles.into_iter().try_for_each(|h| {
            h.join().unwrap_or_else(|_| {
                Err(LogError::Corrupt {
                    path: PathBuf::from("."),
                    why: "an fsync worker stopped unexpectedly".into(),
                })
            })
        })
    })
}

/// Temporary files end in `.tmp`; recovery deletes any it finds.
pub fn tmp_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".tmp");
    PathBuf::from(s)
}

/// Reads a file, naming it in the error.
pub fn read(path: &Path) -> Result<Vec<u8>, LogError> {
    fs::read(path).map_err(LogError::io(path))
}

/// Reads the hash tile `id` as it stands in a tree of `size`, falling back from a partial
/// tile to the full one (partials may be deleted once the full tile exists).
pub fn read_hash_tile(root: &Path, id: TileId, size: u64) -> Result<Vec<Hash>, LogError> {
    let (path, data) = read_tile_file(root, id, size)?;
    let width = usize::from(id.width);
    let expected_len = if data.len() == TILE_WIDTH as usize * HASH_SIZE {
        data.len()
    } else {
        width * HASH_SIZE
    };
    if data.len() != expected_len {
        return Err(LogError::BadTile {
            path,
            why: format!(
                "has {} bytes; a tile of width {width} has {}",
                data.len(),
                width * HASH_SIZE
            ),
        });
    }
    Ok(data
        .chunks_exact(HASH_SIZE)
        .take(width)
        .map(|c| {
            let mut h = [0u8; 32];
            h.copy_from_slice(c);
            h
        })
        .collect())
}

/// Reads tile or bundle `id`, trying the partial path first and then the full one.
pub fn read_tile_file(root: &Path, id: TileId, size: u64) -> Result<(PathBuf, Vec<u8>), LogError> {
    let path = root.join(id.path());
    match fs::read(&path) {
        Ok(d) => Ok((path, d)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !id.is_full() => {
            let full = root.join(TileId { width: 256, ..id }.path());
            match fs::read(&full) {
                Ok(d) => Ok((full, d)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Err(LogError::MissingTile { path, size })
                }
                Err(e) => Err(LogError::Io {
                    path: full,
                    source: e,
                }),
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(LogError::MissingTile { path, size })
        }
        Err(e) => Err(LogError::Io { path, source: e }),
    }
}

/// Decodes bundle `id` read from `path`, checking it holds the entries its width says:
/// exactly that many when read from its own path, at least that many from the full bundle.
pub fn decode_bundle<'d>(
    root: &Path,
    id: TileId,
    path: &Path,
    data: &'d [u8],
) -> Result<Vec<&'d [u8]>, LogError> {
    let entries = crate::bundle::decode(data).map_err(|source| LogError::BadBundle {
        path: path.to_path_buf(),
        source,
    })?;
    let width = usize::from(id.width);
    let exact = path == root.join(id.path());
    if entries.len() < width || (exact && entries.len() != width) {
        return Err(LogError::BadTile {
            path: path.to_path_buf(),
            why: format!("holds {} entries; expected {width}", entries.len()),
        });
    }
    Ok(entries.into_iter().take(width).collect())
}

/// A [`HashSource`] over the hash tiles of a tree of a given size on disk.
pub struct TileHashes<'a> {
    root: &'a Path,
    size: u64,
    cache: HashMap<(u8, u64), Vec<Hash>>,
}

impl<'a> TileHashes<'a> {
    pub fn new(root: &'a Path, size: u64) -> Self {
        TileHashes {
            root,
            size,
            cache: HashMap::new(),
        }
    }
}

impl HashSource for TileHashes<'_> {
    type Error = LogError;

    fn node(&mut self, height: u32, index: u64) -> Result<Hash, LogError> {
        let level = (height / TILE_HEIGHT) as u8;
        let within = height % TILE_HEIGHT;
        let first = index << within;
        let count = 1usize << within;
        let (tile_index, offset) = (first / TILE_WIDTH, (first % TILE_WIDTH) as usize);
        if !self.cache.contains_key(&(level, tile_index)) {
            let id =
                tile_in_tree(self.size, level, tile_index).ok_or(ProofError::IndexOutOfRange {
                    index: first << (u32::from(level) * TILE_HEIGHT),
                    size: self.size,
                })?;
            let hashes = read_hash_tile(self.root, id, self.size)?;
            self.cache.insert((level, tile_index), hashes);
        }
        let tile = &self.cache[&(level, tile_index)];
        if offset + count > tile.len() {
            return Err(ProofError::IndexOutOfRange {
                index: first << (u32::from(level) * TILE_HEIGHT),
                size: self.size,
            }
            .into());
        }
        Ok(perfect_root(&tile[offset..offset + count]))
    }
}
