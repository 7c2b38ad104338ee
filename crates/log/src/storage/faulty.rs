//! Fault injection over any [`Storage`]: numbers every operation and, at chosen numbers or
//! on the next operation of a kind, fails it with `EIO` or `ENOSPC`, makes a write short,
//! cuts the power, or stalls it until released. A failed write may leave part of its data
//! behind, as a real one can.
use std::any::Any;
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use super::{Storage, StorageFile};
use crate::simulate::Rng;

const EIO: i32 = 5;
const ENOSPC: i32 = 28;

/// The operations of [`Storage`] and [`StorageFile`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpKind {
    Create,
    OpenAppend,
    Read,
    Exists,
    List,
    CreateDirAll,
    Rename,
    RemoveFile,
    RemoveDirAll,
    SyncDir,
    Lock,
    Append,
    SetLen,
    SyncData,
}

/// What happens to an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Fails with `EIO`; an append first writes part of its data.
    Eio,
    /// Fails with `ENOSPC`; an append first writes part of its data.
    NoSpace,
    /// An append takes only part of its data and says so, and the disk is then full: the
    /// next append fails with `ENOSPC`. Any other operation fails with `EIO`.
    ShortWrite,
    /// The power goes: this operation fails with `EIO` (an append may leave part of its
    /// data behind) and so does every later one, until [`FaultyDisk::restore_power`].
    PowerCut,
    /// The operation (and every one after it) waits until [`FaultyDisk::release`].
    Stall,
}

/// A [`Storage`] that injects faults. Clones share the disk and its plan.
#[derive(Clone, Debug)]
pub struct FaultyDisk {
    inner: Arc<dyn Storage>,
    ctl: Arc<Control>,
}

#[derive(Debug)]
struct Control {
    plan: Mutex<Plan>,
    changed: Condvar,
}

#[derive(Debug)]
struct Plan {
    next_op: u64,
    at: BTreeMap<u64, Fault>,
    next_of_kind: Vec<(OpKind, Fault)>,
    powered: bool,
    holding: bool,
    waiting: usize,
    full: bool,
    rng: Rng,
    hits: Vec<String>,
}

impl FaultyDisk {
    /// Wraps `inner`; `seed` decides how much of a failed write reaches the disk.
    pub fn new(inner: Arc<dyn Storage>, seed: u64) -> FaultyDisk {
        FaultyDisk {
            inner,
            ctl: Arc::new(Control {
                plan: Mutex::new(Plan {
                    next_op: 0,
                    at: BTreeMap::new(),
                    next_of_kind: Vec::new(),
                    powered: true,
                    holding: false,
                    waiting: 0,
                    full: false,
                    rng: Rng::new(seed),
                    hits: Vec::new(),
                }),
                changed: Condvar::new(),
            }),
        }
    }

    fn plan(&self) -> MutexGuard<'_, Plan> {
        self.ctl.plan.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Injects `fault` at operation number `op` (the first operation is number 0).
    pub fn inject_at(&self, op: u64, fault: Fault) {
        self.plan().at.insert(op, fault);
    }

    /// Injects `fault` into the next operation of `kind`.
    pub fn inject_next(&self, kind: OpKind, fault: Fault) {
        self.plan().next_of_kind.push((kind, fault));
    }

    /// Operations started so far (the number the next one will get).
    pub fn ops(&self) -> u64 {
        self.plan().next_op
    }

    pub fn powered(&self) -> bool {
        self.plan().powered
    }

    /// Cuts the power now: every later operation fails with `EIO`.
    pub fn cut_power(&self) {
        self.plan().powered = false;
    }

    /// Lets operations succeed again after a [`Fault::PowerCut`]; forgets pending faults.
    pub fn restore_power(&self) {
        let mut p = self.plan();
        p.powered = true;
        p.full = false;
        p.at.clear();
        p.next_of_kind.clear();
    }

    /// From now on every operation waits, before it is numbered, until [`Self::release`].
    pub fn hold(&self) {
        self.plan().holding = true;
    }

    /// Lets held and stalled operations go on.
    pub fn release(&self) {
        self.plan().holding = false;
        self.ctl.changed.notify_all();
    }

    /// How many operations are waiting on a hold or stall right now.
    pub fn waiting(&self) -> usize {
        self.plan().waiting
    }

    /// The faults that fired, each with its operation number, kind and path.
    pub fn hits(&self) -> Vec<String> {
        self.plan().hits.clone()
    }

    /// Numbers an operation, waits out a hold, and says which fault (if any) it gets.
    fn begin(&self, kind: OpKind, path: &Path) -> io::Result<Option<Fault>> {
        let mut p = self.wait_while_held(self.plan());
        if !p.powered {
            return Err(power_off());
        }
        let n = p.next_op;
        p.next_op += 1;
        let mut fault = p.at.remove(&n);
        if fault.is_none() {
            if let Some(i) = p.next_of_kind.iter().position(|(k, _)| *k == kind) {
                fault = Some(p.next_of_kind.remove(i).1);
            }
        }
        if fault.is_none() && kind == OpKind::Append && p.full {
            p.full = false;
            fault = Some(Fault::NoSpace);
        }
        let Some(f) = fault else {
            return Ok(None);
        };
        p.hits
            .push(format!("op {n}: {f:?} on {kind:?} {}", path.display()));
        match f {
            Fault::Stall => {
                p.holding = true;
                drop(self.wait_while_held(p));
                Ok(None)
            }
            Fault::PowerCut => {
                p.powered = false;
                Ok(Some(f))
            }
            Fault::ShortWrite => {
                p.full = kind == OpKind::Append;
                Ok(Some(f))
            }
            _ => Ok(Some(f)),
        }
    }

    fn wait_while_held<'a>(&'a self, mut p: MutexGuard<'a, Plan>) -> MutexGuard<'a, Plan> {
        while p.holding {
            p.waiting += 1;
            p = self.ctl.changed.wait(p).unwrap_or_else(|e| e.into_inner());
            p.waiting -= 1;
        }
        p
    }

    /// Runs a non-write operation unless its fault fails it.
    fn run<T>(
        &self,
        kind: OpKind,
        path: &Path,
        op: impl FnOnce() -> io::Result<T>,
    ) -> io::Result<T> {
        match self.begin(kind, path)? {
            None => op(),
            Some(f) => Err(error_for(f)),
        }
    }

    /// How many of `len` bytes a failing write leaves behind: fewer than all of them.
    fn part_of(&self, len: usize, at_least_one: bool) -> usize {
        if len == 0 {
            return 0;
        }
        let low = u64::from(at_least_one);
        let span = (len as u64).saturating_sub(low).max(1);
        (low + self.plan().rng.below(span)) as usize
    }
}

fn power_off() -> io::Error {
    io::Error::new(
        io::Error::from_raw_os_error(EIO).kind(),
        "simulated power loss: the disk is gone",
    )
}

fn error_for(f: Fault) -> io::Error {
    match f {
        Fault::NoSpace => io::Error::from_raw_os_error(ENOSPC),
        Fault::PowerCut => power_off(),
        _ => io::Error::from_raw_os_error(EIO),
    }
}

struct FaultyFile {
    disk: FaultyDisk,
    inner: Box<dyn StorageFile>,
    path: PathBuf,
}

impl StorageFile for FaultyFile {
    fn append(&mut self, data: &[u8]) -> io::Result<usize> {
        let Some(f) = self.disk.begin(OpKind::Append, &self.path)? else {
            return self.inner.append(data);
        };
        let short = f == Fault::ShortWrite && data.len() > 1;
        let part = self.disk.part_of(data.len(), short);
        if part > 0 {
            // What a failing write leaves behind is part of the fault; its own outcome
            // does not matter.
            let _ = super::append_all(self.inner.as_mut(), &data[..part]);
        }
        if short {
            Ok(part)
        } else {
            Err(error_for(f))
        }
    }

    fn write_at(&mut self, at: u64, data: &[u8]) -> io::Result<usize> {
        // A write at an offset fails the way an append does: it is the same data write.
        let Some(f) = self.disk.begin(OpKind::Append, &self.path)? else {
            return self.inner.write_at(at, data);
        };
        let short = f == Fault::ShortWrite && data.len() > 1;
        let part = self.disk.part_of(data.len(), short);
        if part > 0 {
            let _ = super::write_all_at(self.inner.as_mut(), at, &data[..part]);
        }
        if short {
            Ok(part)
        } else {
            Err(error_for(f))
        }
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        let inner = &mut self.inner;
        self.disk
            .run(OpKind::SetLen, &self.path, || inner.set_len(len))
    }

    fn sync_data(&mut self) -> io::Result<()> {
        let inner = &mut self.inner;
        self.disk
            .run(OpKind::SyncData, &self.path, || inner.sync_data())
    }
}

impl FaultyDisk {
    fn wrap(&self, path: &Path, f: Box<dyn StorageFile>) -> Box<dyn StorageFile> {
        Box::new(FaultyFile {
            disk: self.clone(),
            inner: f,
            path: path.to_path_buf(),
        })
    }
}

impl Storage for FaultyDisk {
    fn create(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        let f = self.run(OpKind::Create, path, || self.inner.create(path))?;
        Ok(self.wrap(path, f))
    }

    fn create_overwritable(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        let f = self.run(OpKind::Create, path, || {
            self.inner.create_overwritable(path)
        })?;
        Ok(self.wrap(path, f))
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        let f = self.run(OpKind::OpenAppend, path, || self.inner.open_append(path))?;
        Ok(self.wrap(path, f))
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.run(OpKind::Read, path, || self.inner.read(path))
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        self.run(OpKind::Exists, path, || self.inner.exists(path))
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.run(OpKind::List, dir, || self.inner.list(dir))
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.run(OpKind::CreateDirAll, dir, || self.inner.create_dir_all(dir))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.run(OpKind::Rename, to, || self.inner.rename(from, to))
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.run(OpKind::RemoveFile, path, || self.inner.remove_file(path))
    }

    fn remove_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.run(OpKind::RemoveDirAll, dir, || self.inner.remove_dir_all(dir))
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.run(OpKind::SyncDir, dir, || self.inner.sync_dir(dir))
    }

    fn lock(&self, path: &Path) -> io::Result<Box<dyn Any + Send + Sync>> {
        self.run(OpKind::Lock, path, || self.inner.lock(path))
    }

    fn sync_parallelism(&self) -> usize {
        // Numbered operations must come in one order for a seed to replay.
        1
    }

    fn preallocation(&self) -> u64 {
        self.inner.preallocation()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{append_all, SimDisk};

    fn disk() -> (SimDisk, FaultyDisk) {
        let sim = SimDisk::new();
        let f = FaultyDisk::new(Arc::new(sim.clone()), 7);
        (sim, f)
    }

    #[test]
    fn a_short_write_is_reported_short_and_the_next_write_finds_the_disk_full() {
        let (sim, d) = disk();
        let mut f = d.create(Path::new("/f")).unwrap();
        d.inject_next(OpKind::Append, Fault::ShortWrite);
        let n = f.append(b"0123456789").unwrap();
        assert!((1..10).contains(&n), "{n}");
        let err = append_all(f.as_mut(), b"rest").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(ENOSPC));
        assert_eq!(sim.read(Path::new("/f")).unwrap(), &b"0123456789"[..n]);
        append_all(f.as_mut(), b"ok").unwrap();
    }

    #[test]
    fn after_a_power_cut_every_operation_fails_until_power_returns() {
        let (_, d) = disk();
        d.inject_at(1, Fault::PowerCut);
        assert!(d.exists(Path::new("/")).unwrap());
        assert!(d.exists(Path::new("/")).is_err());
        assert!(d.create(Path::new("/f")).is_err());
        assert!(!d.powered());
        d.restore_power();
        assert!(d.create(Path::new("/f")).is_ok());
        assert_eq!(d.hits().len(), 1);
    }

    #[test]
    fn a_stalled_operation_waits_until_released() {
        let (_, d) = disk();
        d.inject_next(OpKind::SyncDir, Fault::Stall);
        let d2 = d.clone();
        let t = std::thread::spawn(move || d2.sync_dir(Path::new("/")));
        while d.waiting() == 0 {
            std::thread::yield_now();
        }
        assert!(!t.is_finished());
        d.release();
        t.join().unwrap().unwrap();
    }
}
