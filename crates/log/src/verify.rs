//! Verifying a log directory from scratch: the checkpoint's signature, every tile
//! recomputed from the entries, inclusion of one entry, consistency with an older checkpoint.
use std::path::Path;

use crate::bundle;
use crate::checkpoint::SignedCheckpoint;
use crate::error::LogError;
use crate::fs::{decode_bundle, read_hash_tile_on, read_tile_file_on, TileHashes};
use crate::hash::{leaf_hash, perfect_root, Hash};
use crate::keys::{NoteVerifier, Verifier};
use crate::log::{read_checkpoint, read_checkpoint_on};
use crate::merkle::{consistency_proof, inclusion_proof, verify_consistency, verify_inclusion};
use crate::proof::TlogProof;
use crate::storage::{RealDisk, Storage};
use crate::tile::{bundle_in_tree, hashes_at_level, tile_in_tree, TileId, TILE_WIDTH};
use crate::tree::edge_root;

/// What a full verification checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    pub entries_checked: u64,
    pub tiles_checked: u64,
}

/// Checks the checkpoint's signature, recomputes every hash tile from the entry bundles,
/// and checks that they lead to the signed root.
pub fn verify_dir(root: &Path, verifier: &Verifier) -> Result<VerifyReport, LogError> {
    verify_dir_on(&RealDisk, root, verifier)
}

/// [`verify_dir`] on the given storage.
/// How many threads full verification hashes on: the cores, at most 8. Benchmarks give
/// their baseline as many.
pub fn verify_workers() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8)
}

pub fn verify_dir_on(
    disk: &dyn Storage,
    root: &Path,
    verifier: &Verifier,
) -> Result<VerifyReport, LogError> {
    let cp = read_checkpoint_on(disk, root, verifier)?;
    let size = cp.checkpoint.size;
    let bundles = size.div_ceil(TILE_WIDTH);
    let workers = verify_workers() as u64;
    let chunk = bundles.div_ceil(workers.max(1)).max(1);
    // Each worker checks a contiguous run of bundles and returns the level-0 hashes needed
    // above: the roots of full tiles, plus the rightmost partial tile's hashes.
    let results: Vec<Result<Vec<Vec<Hash>>, LogError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..bundles)
            .step_by(chunk as usize)
            .map(|start| {
                let end = (start + chunk).min(bundles);
                s.spawn(move || {
                    (start..end)
                        .map(|t| check_bundle(disk, root, size, t))
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(worker_panicked(root))))
            .collect()
    });
    let mut level_hashes: Vec<Hash> = Vec::new();
    let mut partial: Vec<Vec<Hash>> = Vec::new();
    let mut tiles_checked = bundles;
    for r in results {
        for leaves in r? {
            if leaves.len() as u64 == TILE_WIDTH {
                level_hashes.push(perfect_root(&leaves));
            } else {
                partial.push(leaves);
            }
        }
    }
    let mut levels: Vec<Vec<Hash>> = vec![partial.pop().unwrap_or_default()];
    let mut level = 1u8;
    while hashes_at_level(size, level) > 0 {
        let mut next = Vec::new();
        let mut edge = Vec::new();
        for (t, chunk) in level_hashes.chunks(TILE_WIDTH as usize).enumerate() {
            let id = tile_in_tree(size, level, t as u64).ok_or_else(|| tile_count_bug(root))?;
            compare_tile(disk, root, id, size, chunk, |i| {
                format!("the hash of tile {i} one level below")
            })?;
            tiles_checked += 1;
            if chunk.len() as u64 == TILE_WIDTH {
                next.push(perfect_root(chunk));
            } else {
                edge = chunk.to_vec();
            }
        }
        levels.push(edge);
        level_hashes = next;
        level += 1;
    }
    let computed = edge_root(&levels);
    if computed != cp.checkpoint.root {
        return Err(LogError::Corrupt {
            path: root.join("checkpoint"),
            why: format!(
                "the tiles hash to a different root than the checkpoint signs (size {size})"
            ),
        });
    }
    Ok(VerifyReport {
        origin: cp.checkpoint.origin,
        size,
        root: computed,
        entries_checked: size,
        tiles_checked,
    })
}

/// Reads bundle `t`, hashes its entries, and checks them against level-0 tile `t`.
fn check_bundle(disk: &dyn Storage, root: &Path, size: u64, t: u64) -> Result<Vec<Hash>, LogError> {
    let id = bundle_in_tree(size, t).ok_or_else(|| tile_count_bug(root))?;
    let (path, data) = read_tile_file_on(disk, root, id, size)?;
    let entries = decode_bundle(root, id, &path, &data)?;
    let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
    let tile_id = TileId::hashes(0, t, id.width);
    compare_tile(disk, root, tile_id, size, &leaves, |i| {
        format!("entry {} in {}", t * TILE_WIDTH + i as u64, path.display())
    })?;
    Ok(leaves)
}

fn compare_tile(
    disk: &dyn Storage,
    root: &Path,
    id: TileId,
    size: u64,
    computed: &[Hash],
    what: impl Fn(usize) -> String,
) -> Result<(), LogError> {
    let stored = read_hash_tile_on(disk, root, id, size)?;
    if let Some(i) = (0..computed.len()).find(|&i| stored.get(i) != Some(&computed[i])) {
        let first_index = id.index * TILE_WIDTH + i as u64;
        return Err(LogError::Corrupt {
            path: root.join(id.path()),
            why: format!(
                "hash {i} (covering index {first_index} at this level) does not match {}",
                what(i)
            ),
        });
    }
    Ok(())
}

fn tile_count_bug(root: &Path) -> LogError {
    LogError::Corrupt {
        path: root.to_path_buf(),
        why: "tile arithmetic disagrees with the tree size".into(),
    }
}

fn worker_panicked(root: &Path) -> LogError {
    LogError::Corrupt {
        path: root.to_path_buf(),
        why: "a verification worker stopped unexpectedly".into(),
    }
}

/// Reads entry `index` from the bundles of a tree of `size`.
pub fn read_entry(root: &Path, size: u64, index: u64) -> Result<Vec<u8>, LogError> {
    read_entry_on(&RealDisk, root, size, index)
}

/// [`read_entry`] from the given storage.
pub fn read_entry_on(
    disk: &dyn Storage,
    root: &Path,
    size: u64,
    index: u64,
) -> Result<Vec<u8>, LogError> {
    let t = index / TILE_WIDTH;
    let id = bundle_in_tree(size, t)
        .ok_or(crate::merkle::ProofError::IndexOutOfRange { index, size })?;
    let (path, data) = read_tile_file_on(disk, root, id, size)?;
    let entries = bundle::decode(&data).map_err(|source| LogError::BadBundle {
        path: path.clone(),
        source,
    })?;
    let i = (index % TILE_WIDTH) as usize;
    entries.get(i).map(|e| e.to_vec()).ok_or(LogError::BadTile {
        path,
        why: format!("has no entry {i}"),
    })
}

/// Makes the tlog-proof for entry `index` under the current checkpoint, and checks it.
pub fn prove(root: &Path, verifier: &Verifier, index: u64) -> Result<TlogProof, LogError> {
    let cp = read_checkpoint(root, verifier)?;
    let size = cp.checkpoint.size;
    let hashes = inclusion_proof(&mut TileHashes::new(root, size), index, size)?;
    let entry = read_entry(root, size, index)?;
    verify_inclusion(
        &leaf_hash(&entry),
        index,
        size,
        &hashes,
        &cp.checkpoint.root,
    )?;
    Ok(TlogProof {
        extra: None,
        index,
        hashes,
        checkpoint: cp.to_bytes(),
    })
}

/// How the current checkpoint relates to an older one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consistency {
    pub old_size: u64,
    pub new_size: u64,
    pub proof_hashes: usize,
}

/// Checks that the log's current checkpoint extends `old` (a signed checkpoint note):
/// same origin, not smaller, and a consistency proof from the tiles that holds.
pub fn check_consistency(
    root: &Path,
    verifier: &Verifier,
    old_bytes: &[u8],
    old_path: &Path,
) -> Result<Consistency, LogError> {
    let v: &dyn NoteVerifier = verifier;
    let old =
        SignedCheckpoint::open(old_bytes, &[v], None).map_err(|source| LogError::Checkpoint {
            path: old_path.to_path_buf(),
            source,
        })?;
    let cur = read_checkpoint(root, verifier)?;
    let (o, n) = (&old.checkpoint, &cur.checkpoint);
    let inconsistent = |why: String| LogError::Corrupt {
        path: root.join("checkpoint"),
        why,
    };
    if o.origin != n.origin {
        return Err(inconsistent(format!(
            "is for log {:?}, the older checkpoint is for {:?}",
            n.origin, o.origin
        )));
    }
    if o.size > n.size {
        return Err(inconsistent(format!(
            "has size {} but an older checkpoint has size {}: the log has been rewound",
            n.size, o.size
        )));
    }
    if o.size == n.size && o.root != n.root {
        return Err(inconsistent(format!(
            "has a different root than the older checkpoint of the same size {}: the log has forked",
            n.size
        )));
    }
    let proof = consistency_proof(&mut TileHashes::new(root, n.size), o.size, n.size)?;
    verify_consistency(o.size, n.size, &o.root, &n.root, &proof).map_err(|_| {
        inconsistent(format!(
            "does not extend the older checkpoint of size {}: the log has forked or been rewritten",
            o.size
        ))
    })?;
    Ok(Consistency {
        old_size: o.size,
        new_size: n.size,
        proof_hashes: proof.len(),
    })
}
