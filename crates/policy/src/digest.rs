//! The stack's hash: SHA-256 over every file of every pack, in stack order, so that a log
//! entry names the exact law that decided it and any edit to a pack changes the name.

use crate::error::PolicyError;
use crate::pack::Pack;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// `sha256:<hex>` of the packs' files. Each pack contributes its name, then each file
/// (sorted by relative path, folders included) as path, length and bytes, so no two
/// different stacks share an input.
pub(crate) fn stack_hash(packs: &[Pack]) -> Result<String, PolicyError> {
    let mut hasher = Sha256::new();
    for pack in packs {
        frame(&mut hasher, b"pack");
        frame(&mut hasher, pack.name().as_bytes());
        let mut files = Vec::new();
        walk(pack.dir(), pack.dir(), &mut files)?;
        files.sort();
        for rel in files {
            let bytes = std::fs::read(pack.dir().join(&rel)).map_err(|source| PolicyError::Io {
                path: pack.dir().join(&rel),
                source,
            })?;
            frame(&mut hasher, rel.to_string_lossy().as_bytes());
            frame(&mut hasher, &bytes);
        }
    }
    let digest = hasher.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("sha256:{hex}"))
}

/// `sha256:<hex>` of one pack's files, hashed as a stack of that pack alone: what a
/// reload entry names when that pack changed.
pub fn pack_hash(pack: &Pack) -> Result<String, PolicyError> {
    stack_hash(std::slice::from_ref(pack))
}

fn frame(hasher: &mut Sha256, bytes: &[u8]) {
    hasher.update((bytes.len() as u64).to_be_bytes());
    hasher.update(bytes);
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), PolicyError> {
    let entries = std::fs::read_dir(dir).map_err(|source| PolicyError::Io {
        path: dir.to_owned(),
        source,
    })?;
    for entry in entries {
        let path = entry
            .map_err(|source| PolicyError::Io {
                path: dir.to_owned(),
                source,
            })?
            .path();
        if path.is_dir() {
            walk(root, &path, out)?;
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(rel.to_owned());
        }
    }
    Ok(())
}
