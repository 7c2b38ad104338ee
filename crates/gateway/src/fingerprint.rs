//! What decided: the SHA-256 of the pack files and of the routes in force, written into
//! every entry so a decision can be tied to the exact policy text that made it.
use crate::config::Route;
use sha2::{Digest, Sha256};
use std::path::Path;

/// The hashes recorded with each decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprints {
    /// The pack names, in the order they are enforced.
    pub packs: Vec<String>,
    /// SHA-256 over every pack's files, in order.
    pub stack: String,
    /// SHA-256 of the routes' canonical JSON.
    pub routes: String,
}

impl Fingerprints {
    pub fn new(packs: &[(&str, &Path)], routes: &[Route]) -> std::io::Result<Fingerprints> {
        let mut stack = Sha256::new();
        for (name, dir) in packs {
            stack.update(name.as_bytes());
            stack.update([0]);
            hash_dir(&mut stack, dir, dir)?;
        }
        let routes_json = serde_json::to_vec(routes).unwrap_or_default();
        Ok(Fingerprints {
            packs: packs.iter().map(|(n, _)| (*n).to_owned()).collect(),
            stack: hex(&stack.finalize()),
            routes: crate::entry::sha256_hex(&routes_json),
        })
    }
}

/// Hashes every file under `dir` in path order, each as its relative path, its length
/// and its bytes, so renaming or moving a file changes the hash too.
fn hash_dir(h: &mut Sha256, root: &Path, dir: &Path) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        if e.file_type()?.is_dir() {
            hash_dir(h, root, &path)?;
            continue;
        }
        let rel = path.strip_prefix(root).unwrap_or(&path);
        let bytes = std::fs::read(&path)?;
        h.update(rel.to_string_lossy().as_bytes());
        h.update([0]);
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(&bytes);
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
