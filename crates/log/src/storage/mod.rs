//! The one narrow interface through which the file log touches its disk, so that tests can
//! put a simulated disk (power loss, short writes, `ENOSPC`, `EIO`, stalls) under it.
//!
//! Production uses [`RealDisk`]; [`SimDisk`] keeps what was fsynced apart from what was
//! only written, and [`FaultyDisk`] injects faults into any storage at chosen operations.
use std::any::Any;
use std::io;
use std::path::Path;

mod faulty;
mod real;
mod sim;

pub use faulty::{Fault, FaultyDisk, OpKind};
pub use real::RealDisk;
pub use sim::{PowerLoss, SimDisk};

/// A file opened for writing. A file from [`Storage::create`] or [`Storage::open_append`]
/// takes every write at its end (`O_APPEND`), so a write can never land past a hole,
/// whatever happened to the one before it; one from [`Storage::create_overwritable`] takes
/// writes where its caller says (the write-ahead file, which overwrites zeros it laid down
/// ahead of itself).
pub trait StorageFile: Send {
    /// Appends from `data` with one write; returns how many bytes it took, which may be
    /// fewer than offered (a short write), never zero for a non-empty `data` without error.
    fn append(&mut self, data: &[u8]) -> io::Result<usize>;
    /// Writes from `data` at byte `at` with one write (`pwrite`), taking bytes as
    /// [`StorageFile::append`] does. Refused on a file opened for appending, where the
    /// system would put the bytes at the end instead.
    fn write_at(&mut self, at: u64, data: &[u8]) -> io::Result<usize>;
    /// Cuts the file to (or extends it with zeros to) `len` bytes.
    fn set_len(&mut self, len: u64) -> io::Result<()>;
    /// Makes the file's data and length durable (`fdatasync`).
    fn sync_data(&mut self) -> io::Result<()>;
}

/// The file-system operations the file log performs, and nothing else.
pub trait Storage: Send + Sync + std::fmt::Debug {
    /// Creates `path`, or empties it if it exists, open for appending.
    fn create(&self, path: &Path) -> io::Result<Box<dyn StorageFile>>;
    /// Creates `path`, or empties it if it exists, open for writing at chosen offsets.
    fn create_overwritable(&self, path: &Path) -> io::Result<Box<dyn StorageFile>>;
    /// Opens an existing file for appending and cutting.
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn StorageFile>>;
    /// The whole contents of a file.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Whether `path` names a file or directory.
    fn exists(&self, path: &Path) -> io::Result<bool>;
    /// The names in a directory, in no particular order.
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// Creates a directory and any missing parents.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// Atomically gives the file `from` the name `to`, replacing any file there.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    fn remove_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// Makes the names in `dir` (created, renamed, removed) durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// Takes an exclusive lock named by `path` (creating the file), held until the returned
    /// guard is dropped; `ErrorKind::WouldBlock` when someone else holds it.
    fn lock(&self, path: &Path) -> io::Result<Box<dyn Any + Send + Sync>>;
    /// How many fsyncs are worth issuing at once. A simulated disk says 1, so that its
    /// operations come in one deterministic order.
    fn sync_parallelism(&self) -> usize {
        1
    }
    /// How many bytes of zeros the write-ahead file lays down ahead of its last entry. On
    /// a real file system an fdatasync that must also record a longer file commits the
    /// journal; one that only overwrites does not, and is cheaper (BENCHMARKS.md). A
    /// simulated disk keeps it small, since it copies a file on every fsync.
    fn preallocation(&self) -> u64 {
        4096
    }
}

/// Writes all of `data` from byte `at`, retrying short writes; a write that takes nothing
/// is an error.
pub fn write_all_at(file: &mut dyn StorageFile, mut at: u64, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        match file.write_at(at, data) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                let n = n.min(data.len());
                data = &data[n..];
                at += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes all of `data`, retrying short writes; a write that takes nothing is an error.
pub fn append_all(file: &mut dyn StorageFile, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        match file.append(data) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => data = &data[n.min(data.len())..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
