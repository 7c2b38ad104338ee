//! The stack's hash: SHA-256 over every file of every pack, in stack order, so that a log
//! entry names the exact law that decided it and any edit to a pack changes the name.

use crate::error::PolicyError;
use crate::pack::Pack;
use sha2::{Digest, Sha256};

/// `sha256:<hex>` of the packs' files. Each pack contributes its name, then each file
/// (sorted by relative path, folders included) as path, length and bytes, so no two
/// different stacks share an input.
pub(crate) fn stack_hash(packs: &[Pack]) -> Result<String, PolicyError> {
    let mut hasher = Sha256::new();
    for pack in packs {
        frame(&mut hasher, b"pack");
        frame(&mut hasher, pack.name().as_bytes());
        // The bytes the pack was parsed from, never a second read of the folder.
        for (rel, bytes) in pack.files().iter() {
            frame(&mut hasher, rel.to_string_lossy().as_bytes());
            frame(&mut hasher, bytes);
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::path::Path;

    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                copy_dir(&e.path(), &to.join(e.file_name()));
            } else {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    }

    /// A reload names the policy by this hash: it must be the hash of the bytes that were
    /// parsed, even when the folder is edited after (or while) the pack is read.
    #[test]
    fn the_hash_covers_the_bytes_parsed_not_a_later_read_of_the_folder() {
        let shipped =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/chicago-welcoming-city");
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("chicago-welcoming-city");
        copy_dir(&shipped, &dir);
        let pack = Pack::load(&dir).unwrap();
        let before = pack_hash(&pack).unwrap();
        let access = dir.join("access.cedar");
        let text = std::fs::read_to_string(&access).unwrap();
        std::fs::write(&access, format!("{text}\n// edited after the load\n")).unwrap();
        assert_eq!(pack_hash(&pack).unwrap(), before);
        assert_eq!(stack_hash(std::slice::from_ref(&pack)).unwrap(), before);
        assert_ne!(pack_hash(&Pack::load(&dir).unwrap()).unwrap(), before);
    }
}
