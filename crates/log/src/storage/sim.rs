//! A disk in memory that remembers what was fsynced apart from what was only written, and
//! at a power loss keeps the former: file data as of each file's last `fsync`, directory
//! entries as of each directory's last `fsync`. Optionally, as real disks may, it also
//! keeps a seeded part of what was not synced, tearing the last write it keeps.
use std::any::Any;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{Storage, StorageFile};
use crate::simulate::Rng;

/// What survives a power loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PowerLoss {
    /// Only what was fsynced.
    Strict,
    /// What was fsynced, and, chosen by this seed: for each directory either all or none
    /// of its unsynced changes; for each file an in-order subset of its unsynced writes
    /// and cuts, where a kept write may be torn (only its first bytes reach the disk).
    Partial(u64),
}

/// The simulated disk. Clones share one disk.
#[derive(Clone, Default)]
pub struct SimDisk {
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for SimDisk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SimDisk({} names)", self.lock_state().names.len())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Entry {
    File(u64),
    Dir,
}

#[derive(Debug)]
enum DataOp {
    Write { at: u64, bytes: Vec<u8> },
    SetLen(u64),
}

#[derive(Debug, Default)]
struct Inode {
    data: Vec<u8>,
    synced: Vec<u8>,
    unsynced: Vec<DataOp>,
}

#[derive(Debug, Default)]
struct State {
    inodes: BTreeMap<u64, Inode>,
    next_inode: u64,
    names: BTreeMap<PathBuf, Entry>,
    synced_names: BTreeMap<PathBuf, Entry>,
    locked: HashSet<PathBuf>,
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{}: no such file or directory", path.display()),
    )
}

fn is_root(path: &Path) -> bool {
    path.parent().is_none() || path.as_os_str().is_empty()
}

fn parent(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new(""))
}

impl State {
    fn is_dir(&self, path: &Path) -> bool {
        is_root(path) || self.names.get(path) == Some(&Entry::Dir)
    }

    fn file(&self, path: &Path) -> io::Result<u64> {
        match self.names.get(path) {
            Some(Entry::File(ino)) => Ok(*ino),
            Some(Entry::Dir) => Err(io::Error::other(format!(
                "{}: is a directory",
                path.display()
            ))),
            None => Err(not_found(path)),
        }
    }

    fn inode(&mut self, ino: u64) -> &mut Inode {
        self.inodes.entry(ino).or_default()
    }

    fn new_file(&mut self, path: &Path) -> io::Result<u64> {
        if !self.is_dir(parent(path)) {
            return Err(not_found(parent(path)));
        }
        let ino = self.next_inode;
        self.next_inode += 1;
        self.inodes.insert(ino, Inode::default());
        self.names.insert(path.to_path_buf(), Entry::File(ino));
        Ok(ino)
    }
}

impl SimDisk {
    /// The file at `path`, created or emptied.
    fn emptied(&self, path: &Path) -> io::Result<u64> {
        let mut st = self.lock_state();
        let ino = match st.names.get(path) {
            Some(Entry::File(ino)) => {
                let ino = *ino;
                let node = st.inode(ino);
                node.data.clear();
                node.unsynced.push(DataOp::SetLen(0));
                ino
            }
            Some(Entry::Dir) => st.file(path)?,
            None => st.new_file(path)?,
        };
        Ok(ino)
    }

    pub fn new() -> SimDisk {
        SimDisk::default()
    }

    fn lock_state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Cuts the power and boots again: only what survives `loss` remains, and no lock is
    /// held. Call it once nothing uses the disk any more.
    pub fn power_loss(&self, loss: PowerLoss) {
        let mut st = self.lock_state();
        let mut rng = match loss {
            PowerLoss::Strict => None,
            PowerLoss::Partial(seed) => Some(Rng::new(seed)),
        };
        let dirs: BTreeSet<PathBuf> = st
            .names
            .keys()
            .chain(st.synced_names.keys())
            .map(|p| parent(p).to_path_buf())
            .collect();
        let unsynced_kept: HashSet<PathBuf> = dirs
            .into_iter()
            .filter(|_| rng.as_mut().is_some_and(|r| r.chance(1, 2)))
            .collect();
        let mut names: BTreeMap<PathBuf, Entry> = BTreeMap::new();
        for (p, e) in &st.synced_names {
            if !unsynced_kept.contains(parent(p)) {
                names.insert(p.clone(), *e);
            }
        }
        for (p, e) in &st.names {
            if unsynced_kept.contains(parent(p)) {
                names.insert(p.clone(), *e);
            }
        }
        let reachable = |p: &Path| {
            p.ancestors()
                .skip(1)
                .all(|a| is_root(a) || names.get(a) == Some(&Entry::Dir))
        };
        let names: BTreeMap<PathBuf, Entry> = names
            .iter()
            .filter(|(p, _)| reachable(p))
            .map(|(p, e)| (p.clone(), *e))
            .collect();
        let live: BTreeSet<u64> = names
            .values()
            .filter_map(|e| match e {
                Entry::File(ino) => Some(*ino),
                Entry::Dir => None,
            })
            .collect();
        let old = std::mem::take(&mut st.inodes);
        for (ino, node) in old {
            if live.contains(&ino) {
                let data = surviving_data(node, rng.as_mut());
                st.inodes.insert(
                    ino,
                    Inode {
                        synced: data.clone(),
                        data,
                        unsynced: Vec::new(),
                    },
                );
            }
        }
        st.synced_names = names.clone();
        st.names = names;
        st.locked.clear();
    }

    /// Every file with its size, and the bytes of those up to 64 bytes long: enough to
    /// see what a failure report is about.
    pub fn describe(&self) -> String {
        let st = self.lock_state();
        let mut out = String::new();
        for (p, e) in &st.names {
            if let Entry::File(ino) = e {
                let data = st.inodes.get(ino).map(|i| i.data.as_slice()).unwrap_or(&[]);
                out.push_str(&format!("\n  {} ({} bytes)", p.display(), data.len()));
                if data.len() <= 64 {
                    out.push_str(&format!(" {data:02x?}"));
                }
            }
        }
        out
    }

    /// Every file on the disk and its current size.
    pub fn files(&self) -> Vec<(PathBuf, usize)> {
        let st = self.lock_state();
        st.names
            .iter()
            .filter_map(|(p, e)| match e {
                Entry::File(ino) => {
                    Some((p.clone(), st.inodes.get(ino).map_or(0, |i| i.data.len())))
                }
                Entry::Dir => None,
            })
            .collect()
    }
}

/// A file's contents after a power loss: as last synced, plus (when `rng` is given) an
/// in-order subset of the unsynced operations, a kept write possibly torn.
fn surviving_data(node: Inode, rng: Option<&mut Rng>) -> Vec<u8> {
    let mut data = node.synced;
    let Some(rng) = rng else {
        return data;
    };
    for op in node.unsynced {
        if !rng.chance(1, 2) {
            continue;
        }
        match op {
            DataOp::SetLen(n) => data.resize(n as usize, 0),
            DataOp::Write { at, mut bytes } => {
                if rng.chance(1, 4) {
                    bytes.truncate(rng.below(bytes.len() as u64 + 1) as usize);
                }
                let at = at as usize;
                if data.len() < at + bytes.len() {
                    data.resize(at + bytes.len(), 0);
                }
                data[at..at + bytes.len()].copy_from_slice(&bytes);
            }
        }
    }
    data
}

struct SimFile {
    disk: SimDisk,
    ino: u64,
    /// Opened for appending: a write at an offset is refused, as the real disk refuses it.
    appending: bool,
}

impl StorageFile for SimFile {
    fn append(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let mut st = self.disk.lock_state();
        let node = st.inode(self.ino);
        let at = node.data.len() as u64;
        node.data.extend_from_slice(bytes);
        node.unsynced.push(DataOp::Write {
            at,
            bytes: bytes.to_vec(),
        });
        Ok(bytes.len())
    }

    fn write_at(&mut self, at: u64, bytes: &[u8]) -> io::Result<usize> {
        if self.appending {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "a file opened for appending cannot be written at an offset",
            ));
        }
        let mut st = self.disk.lock_state();
        let node = st.inode(self.ino);
        let end = at as usize + bytes.len();
        if node.data.len() < end {
            node.data.resize(end, 0);
        }
        node.data[at as usize..end].copy_from_slice(bytes);
        node.unsynced.push(DataOp::Write {
            at,
            bytes: bytes.to_vec(),
        });
        Ok(bytes.len())
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        let mut st = self.disk.lock_state();
        let node = st.inode(self.ino);
        node.data.resize(len as usize, 0);
        node.unsynced.push(DataOp::SetLen(len));
        Ok(())
    }

    fn sync_data(&mut self) -> io::Result<()> {
        let mut st = self.disk.lock_state();
        let node = st.inode(self.ino);
        node.synced = node.data.clone();
        node.unsynced.clear();
        Ok(())
    }
}

struct SimLock {
    disk: SimDisk,
    path: PathBuf,
}

impl Drop for SimLock {
    fn drop(&mut self) {
        self.disk.lock_state().locked.remove(&self.path);
    }
}

impl SimDisk {
    /// An empty file at `path`, opened to append only, or to write anywhere.
    fn created(&self, path: &Path, appending: bool) -> io::Result<Box<dyn StorageFile>> {
        let ino = self.emptied(path)?;
        Ok(Box::new(SimFile {
            disk: self.clone(),
            ino,
            appending,
        }))
    }
}

impl Storage for SimDisk {
    fn create(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        self.created(path, true)
    }

    fn create_overwritable(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        self.created(path, false)
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        let ino = self.lock_state().file(path)?;
        Ok(Box::new(SimFile {
            disk: self.clone(),
            ino,
            appending: true,
        }))
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let mut st = self.lock_state();
        let ino = st.file(path)?;
        Ok(st.inode(ino).data.clone())
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        let st = self.lock_state();
        Ok(is_root(path) || st.names.contains_key(path))
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let st = self.lock_state();
        if !st.is_dir(dir) {
            return Err(not_found(dir));
        }
        Ok(st
            .names
            .keys()
            .filter(|p| parent(p) == dir)
            .filter_map(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .collect())
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let mut st = self.lock_state();
        let missing: Vec<PathBuf> = dir
            .ancestors()
            .take_while(|a| !is_root(a) && !st.names.contains_key(*a))
            .map(Path::to_path_buf)
            .collect();
        if let Some(top) = missing.last().map(|p| parent(p)) {
            if !st.is_dir(top) {
                return Err(io::Error::other(format!(
                    "{}: not a directory",
                    top.display()
                )));
            }
        } else if !st.is_dir(dir) {
            return Err(io::Error::other(format!(
                "{}: not a directory",
                dir.display()
            )));
        }
        for p in missing.into_iter().rev() {
            st.names.insert(p, Entry::Dir);
        }
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut st = self.lock_state();
        let ino = st.file(from)?;
        if !st.is_dir(parent(to)) {
            return Err(not_found(parent(to)));
        }
        if st.names.get(to) == Some(&Entry::Dir) {
            return Err(io::Error::other(format!(
                "{}: is a directory",
                to.display()
            )));
        }
        st.names.remove(from);
        st.names.insert(to.to_path_buf(), Entry::File(ino));
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let mut st = self.lock_state();
        st.file(path)?;
        st.names.remove(path);
        Ok(())
    }

    fn remove_dir_all(&self, dir: &Path) -> io::Result<()> {
        let mut st = self.lock_state();
        if st.names.get(dir) != Some(&Entry::Dir) {
            return Err(not_found(dir));
        }
        st.names.retain(|p, _| !p.starts_with(dir));
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut st = self.lock_state();
        if !st.is_dir(dir) {
            return Err(not_found(dir));
        }
        st.synced_names.retain(|p, _| parent(p) != dir);
        let now: Vec<(PathBuf, Entry)> = st
            .names
            .iter()
            .filter(|(p, _)| parent(p) == dir)
            .map(|(p, e)| (p.clone(), *e))
            .collect();
        st.synced_names.extend(now);
        Ok(())
    }

    fn lock(&self, path: &Path) -> io::Result<Box<dyn Any + Send + Sync>> {
        let mut st = self.lock_state();
        if !st.names.contains_key(path) {
            st.new_file(path)?;
        }
        if !st.locked.insert(path.to_path_buf()) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(Box::new(SimLock {
            disk: self.clone(),
            path: path.to_path_buf(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::append_all;

    fn p(s: &str) -> PathBuf {
        PathBuf::from(s)
    }

    #[test]
    fn unsynced_data_is_lost_and_synced_data_kept() {
        let d = SimDisk::new();
        d.create_dir_all(&p("/a")).unwrap();
        d.sync_dir(&p("/")).unwrap();
        let mut f = d.create(&p("/a/f")).unwrap();
        d.sync_dir(&p("/a")).unwrap();
        append_all(f.as_mut(), b"synced").unwrap();
        f.sync_data().unwrap();
        append_all(f.as_mut(), b" lost").unwrap();
        assert_eq!(d.read(&p("/a/f")).unwrap(), b"synced lost");
        d.power_loss(PowerLoss::Strict);
        assert_eq!(d.read(&p("/a/f")).unwrap(), b"synced");
    }

    #[test]
    fn a_name_is_lost_unless_its_directory_was_synced() {
        let d = SimDisk::new();
        d.create_dir_all(&p("/a")).unwrap();
        d.sync_dir(&p("/")).unwrap();
        let mut f = d.create(&p("/a/f")).unwrap();
        f.sync_data().unwrap();
        d.power_loss(PowerLoss::Strict);
        assert!(
            !d.exists(&p("/a/f")).unwrap(),
            "the data was synced, the name was not"
        );
        assert!(d.exists(&p("/a")).unwrap());
    }

    #[test]
    fn a_rename_not_followed_by_a_directory_sync_is_undone() {
        let d = SimDisk::new();
        let mut old = d.create(&p("/cp")).unwrap();
        append_all(old.as_mut(), b"old").unwrap();
        old.sync_data().unwrap();
        d.sync_dir(&p("/")).unwrap();
        let mut new = d.create(&p("/cp.tmp")).unwrap();
        append_all(new.as_mut(), b"new").unwrap();
        new.sync_data().unwrap();
        d.rename(&p("/cp.tmp"), &p("/cp")).unwrap();
        assert_eq!(d.read(&p("/cp")).unwrap(), b"new");
        d.power_loss(PowerLoss::Strict);
        assert_eq!(d.read(&p("/cp")).unwrap(), b"old");
        assert!(!d.exists(&p("/cp.tmp")).unwrap());
    }

    #[test]
    fn a_directory_lost_takes_its_synced_children_with_it() {
        let d = SimDisk::new();
        d.create_dir_all(&p("/a/b")).unwrap();
        d.sync_dir(&p("/a")).unwrap();
        let mut f = d.create(&p("/a/b/f")).unwrap();
        f.sync_data().unwrap();
        d.sync_dir(&p("/a/b")).unwrap();
        d.power_loss(PowerLoss::Strict);
        assert!(!d.exists(&p("/a")).unwrap(), "/ was never synced");
        assert!(!d.exists(&p("/a/b/f")).unwrap());
    }

    #[test]
    fn partial_loss_keeps_an_in_order_subset_of_unsynced_writes() {
        for seed in 0..200 {
            let d = SimDisk::new();
            let mut f = d.create(&p("/f")).unwrap();
            d.sync_dir(&p("/")).unwrap();
            append_all(f.as_mut(), b"0123").unwrap();
            f.sync_data().unwrap();
            append_all(f.as_mut(), b"4567").unwrap();
            append_all(f.as_mut(), b"89").unwrap();
            d.power_loss(PowerLoss::Partial(seed));
            let got = d.read(&p("/f")).unwrap();
            assert!(got.starts_with(b"0123"), "seed {seed}: {got:?}");
            assert!(got.len() <= 10, "seed {seed}");
            for (i, b) in got.iter().enumerate().skip(4) {
                assert!(*b == 0 || *b == b"0123456789"[i], "seed {seed}: {got:?}");
            }
        }
    }

    #[test]
    fn a_lock_is_exclusive_until_dropped() {
        let d = SimDisk::new();
        let g = d.lock(&p("/lock")).unwrap();
        assert_eq!(
            d.lock(&p("/lock")).err().map(|e| e.kind()),
            Some(io::ErrorKind::WouldBlock)
        );
        drop(g);
        assert!(d.lock(&p("/lock")).is_ok());
    }
}
