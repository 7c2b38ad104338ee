//! A pack folder read once into memory: every file the pack is parsed from is the file its
//! hash covers, even if the folder changes while it is loaded (an operator editing a pack
//! while the gateway reloads it). Only regular files are read, each and all together under
//! a size cap, so a named pipe or a device in the folder is refused instead of hanging or
//! filling memory.
use crate::error::PolicyError;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest file a pack may hold.
pub const MAX_FILE_BYTES: u64 = 4 << 20;
/// Largest total of a pack's files.
pub const MAX_PACK_BYTES: u64 = 32 << 20;
/// Deepest folder nesting read.
const MAX_DEPTH: usize = 8;

/// The files of one pack folder, by path relative to it, as read at one time.
#[derive(Debug, Clone)]
pub struct PackFiles {
    root: PathBuf,
    files: BTreeMap<PathBuf, Vec<u8>>,
}

impl PackFiles {
    /// Reads every regular file under `root`.
    pub fn read(root: &Path) -> Result<PackFiles, PolicyError> {
        let mut files = BTreeMap::new();
        let mut total = 0;
        walk(root, root, 0, &mut files, &mut total)?;
        Ok(PackFiles {
            root: root.to_owned(),
            files,
        })
    }

    /// Whether `path` (under the root) is one of the files.
    pub fn has_file(&self, path: &Path) -> bool {
        self.rel(path).is_some_and(|r| self.files.contains_key(r))
    }

    /// Whether any file lies under the folder `path`.
    pub fn has_dir(&self, path: &Path) -> bool {
        self.rel(path)
            .is_some_and(|r| self.files.keys().any(|f| f.starts_with(r) && f != r))
    }

    /// The text of the file at `path`, as read.
    pub fn text(&self, path: &Path) -> Result<&str, PolicyError> {
        let bytes = self
            .rel(path)
            .and_then(|r| self.files.get(r))
            .ok_or_else(|| io_error(path, std::io::ErrorKind::NotFound, "not in the pack"))?;
        std::str::from_utf8(bytes)
            .map_err(|_| io_error(path, std::io::ErrorKind::InvalidData, "not UTF-8 text"))
    }

    /// The files directly in the folder `dir` whose extension is `ext`, sorted.
    pub fn with_extension(&self, dir: &Path, ext: &str) -> Vec<PathBuf> {
        let Some(dir) = self.rel(dir) else {
            return Vec::new();
        };
        self.files
            .keys()
            .filter(|f| f.parent() == Some(dir) && f.extension().is_some_and(|e| e == ext))
            .map(|f| self.root.join(f))
            .collect()
    }

    /// Each file as (relative path, bytes), sorted by path: what the pack's hash covers.
    pub fn iter(&self) -> impl Iterator<Item = (&Path, &[u8])> {
        self.files.iter().map(|(p, b)| (p.as_path(), b.as_slice()))
    }

    fn rel<'a>(&self, path: &'a Path) -> Option<&'a Path> {
        path.strip_prefix(&self.root).ok()
    }
}

fn io_error(path: &Path, kind: std::io::ErrorKind, why: &str) -> PolicyError {
    PolicyError::Io {
        path: path.to_owned(),
        source: std::io::Error::new(kind, why.to_owned()),
    }
}

fn walk(
    root: &Path,
    dir: &Path,
    depth: usize,
    out: &mut BTreeMap<PathBuf, Vec<u8>>,
    total: &mut u64,
) -> Result<(), PolicyError> {
    if depth > MAX_DEPTH {
        return Err(io_error(
            dir,
            std::io::ErrorKind::InvalidInput,
            "folders nested too deep for a policy pack",
        ));
    }
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
        // Follows symbolic links, as reading the file would; what they point to must be a
        // folder or a regular file too.
        let meta = std::fs::metadata(&path).map_err(|source| PolicyError::Io {
            path: path.clone(),
            source,
        })?;
        if meta.is_dir() {
            walk(root, &path, depth + 1, out, total)?;
        } else if meta.is_file() {
            let bytes = read_regular(&path, total)?;
            if let Ok(rel) = path.strip_prefix(root) {
                out.insert(rel.to_owned(), bytes);
            }
        } else {
            return Err(io_error(
                &path,
                std::io::ErrorKind::InvalidInput,
                "not a regular file or folder (a pipe, socket or device); remove it from the pack",
            ));
        }
    }
    Ok(())
}

/// Reads a file that was a regular file a moment ago. It is opened without blocking and
/// checked again once open, so a file swapped for a named pipe in between is refused
/// rather than waited on; it is read only up to the caps.
fn read_regular(path: &Path, total: &mut u64) -> Result<Vec<u8>, PolicyError> {
    use std::os::unix::fs::OpenOptionsExt;
    let io = |source| PolicyError::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open(path)
        .map_err(io)?;
    if !file.metadata().map_err(io)?.is_file() {
        return Err(io_error(
            path,
            std::io::ErrorKind::InvalidInput,
            "not a regular file; remove it from the pack",
        ));
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    let n = bytes.len() as u64;
    if n > MAX_FILE_BYTES {
        return Err(io_error(
            path,
            std::io::ErrorKind::InvalidData,
            &format!("larger than {MAX_FILE_BYTES} bytes, too large for a policy pack file"),
        ));
    }
    *total += n;
    if *total > MAX_PACK_BYTES {
        return Err(io_error(
            path,
            std::io::ErrorKind::InvalidData,
            &format!("the pack's files add up to more than {MAX_PACK_BYTES} bytes"),
        ));
    }
    Ok(bytes)
}

/// `O_NONBLOCK` on Linux (every architecture Cordon builds for): opening a named pipe
/// with it returns at once instead of waiting for a writer.
const O_NONBLOCK: i32 = 0o4000;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_named_pipe_in_a_pack_is_refused_not_waited_on() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("a.cedar"),
            "permit(principal, action, resource);",
        )
        .unwrap();
        let fifo = dir.path().join("evil.fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let err = PackFiles::read(dir.path()).unwrap_err().to_string();
        assert!(err.contains("evil.fifo"), "{err}");
    }

    #[test]
    fn a_file_over_the_cap_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let big = std::fs::File::create(dir.path().join("core.dump")).unwrap();
        big.set_len(MAX_FILE_BYTES + 1).unwrap();
        let err = PackFiles::read(dir.path()).unwrap_err().to_string();
        assert!(err.contains("too large"), "{err}");
    }

    #[test]
    fn files_are_served_from_what_was_read_not_from_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.cedar");
        std::fs::write(&file, "first").unwrap();
        let files = PackFiles::read(dir.path()).unwrap();
        std::fs::write(&file, "second").unwrap();
        assert_eq!(files.text(&file).unwrap(), "first");
    }
}
