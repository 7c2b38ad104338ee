//! The operating system's file system: what production runs on.
use std::any::Any;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, Write};
use std::path::Path;

use super::{Storage, StorageFile};

/// `std::fs`, with appends through `O_APPEND`.
#[derive(Clone, Copy, Debug, Default)]
pub struct RealDisk;

struct RealFile {
    file: File,
    /// Opened with `O_APPEND`: every write goes to the end, whatever offset it names.
    appending: bool,
}

impl StorageFile for RealFile {
    fn append(&mut self, data: &[u8]) -> io::Result<usize> {
        if !self.appending {
            self.file.seek(io::SeekFrom::End(0))?;
        }
        self.file.write(data)
    }

    fn write_at(&mut self, at: u64, data: &[u8]) -> io::Result<usize> {
        if self.appending {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "a file opened for appending cannot be written at an offset",
            ));
        }
        std::os::unix::fs::FileExt::write_at(&self.file, data, at)
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }

    fn sync_data(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }
}

impl Storage for RealDisk {
    fn create(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        // `O_APPEND` cannot be combined with `O_TRUNC` through std; empty it instead.
        let f = OpenOptions::new().create(true).append(true).open(path)?;
        f.set_len(0)?;
        Ok(Box::new(RealFile {
            file: f,
            appending: true,
        }))
    }

    fn create_overwritable(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        let f = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(path)?;
        Ok(Box::new(RealFile {
            file: f,
            appending: false,
        }))
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        let f = OpenOptions::new().append(true).open(path)?;
        Ok(Box::new(RealFile {
            file: f,
            appending: true,
        }))
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        fs::read(path)
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        path.try_exists()
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for ent in fs::read_dir(dir)? {
            names.push(ent?.file_name().to_string_lossy().into_owned());
        }
        Ok(names)
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        fs::create_dir_all(dir)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn remove_dir_all(&self, dir: &Path) -> io::Result<()> {
        fs::remove_dir_all(dir)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }

    fn lock(&self, path: &Path) -> io::Result<Box<dyn Any + Send + Sync>> {
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        match f.try_lock() {
            Ok(()) => Ok(Box::new(f)),
            Err(fs::TryLockError::WouldBlock) => Err(io::ErrorKind::WouldBlock.into()),
            Err(fs::TryLockError::Error(e)) => Err(e),
        }
    }

    fn preallocation(&self) -> u64 {
        // One journal commit per MiB of entries instead of one per batch; the zeros are
        // written in the same write and fsync as the batch that needs them.
        1 << 20
    }

    fn sync_parallelism(&self) -> usize {
        // Threads that fsync at once wait on the disk, not the CPU: the journal commits
        // many files together (see BENCHMARKS.md).
        16
    }
}
