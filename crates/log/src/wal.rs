//! The write-ahead file that makes an append durable before it is integrated: segments of
//! length- and CRC-framed entries, so that a torn tail is detected and cut, never accepted.
//!
//! The newest segment keeps zeros laid down ahead of its last entry, and batches overwrite
//! them: an fdatasync that need not record a longer file is cheaper (BENCHMARKS.md). Zeros
//! never read as a record (a zero length's CRC is not zero), so recovery tells them from a
//! torn write and cuts them; a segment is cut to its last entry before the next one starts.
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::LogError;
use crate::fs::sync_dir_on;
use crate::log::FaultSwitch;
use crate::storage::{write_all_at, Storage, StorageFile};

const MAGIC: &[u8; 8] = b"CRDNWAL1";
const HEADER_LEN: u64 = 16;
const RECORD_HEADER: usize = 8;

/// Why a batch did not become durable.
#[derive(Debug)]
pub enum WalError {
    /// The write failed (a full disk, say) and was undone: the segment is back to its
    /// last acknowledged byte, durably; later batches may succeed.
    Write(std::io::Error),
    /// The fsync failed: the segment can no longer be trusted.
    Unrecoverable(std::io::Error),
    /// The write failed and so did undoing it: the segment can no longer be trusted.
    UndoFailed {
        write: std::io::Error,
        undo: std::io::Error,
    },
}

impl WalError {
    /// Whether the writer must refuse every later batch.
    pub fn is_unrecoverable(&self) -> bool {
        !matches!(self, WalError::Write(_))
    }
}

impl std::fmt::Display for WalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WalError::Write(e) => write!(f, "write failed: {e}"),
            WalError::Unrecoverable(e) => write!(f, "fsync failed: {e}"),
            WalError::UndoFailed { write, undo } => write!(
                f,
                "write failed: {write}; cutting the partial write back off failed too: {undo}"
            ),
        }
    }
}

/// The segment holding entries from index `base` on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub base: u64,
    pub path: PathBuf,
}

pub fn segment_path(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("{base:020}.wal"))
}

/// Appends batches of entries to the newest segment.
pub struct WalWriter {
    storage: Arc<dyn Storage>,
    dir: PathBuf,
    file: Box<dyn StorageFile>,
    path: PathBuf,
    /// The end of the last acknowledged batch: every byte before it is durable, none after
    /// it is acknowledged.
    len: u64,
    /// Bytes from `len` up to here are zeros, durably: the next batch overwrites them
    /// without making the file longer.
    zeroed_end: u64,
    /// Zeros laid down ahead whenever a batch runs past `zeroed_end`.
    preallocation: u64,
    buf: Vec<u8>,
    faults: FaultSwitch,
}

impl WalWriter {
    /// Creates a new, durable, empty segment starting at index `base`.
    ///
    /// The header is written and fsynced under a temporary name and only then renamed
    /// into place, so a segment's name never stands for a torn header: a power cut
    /// during creation leaves either no new segment or a whole one (a file system may
    /// keep a new file's length but not its data, which would read as zeros).
    pub fn create(
        storage: Arc<dyn Storage>,
        dir: &Path,
        base: u64,
        faults: FaultSwitch,
    ) -> Result<(WalWriter, Segment), LogError> {
        let path = segment_path(dir, base);
        let tmp = crate::fs::tmp_path(&path);
        let mut file = storage
            .create_overwritable(&tmp)
            .map_err(LogError::io(&tmp))?;
        let mut preallocation = storage.preallocation();
        let mut header = MAGIC.to_vec();
        header.extend_from_slice(&base.to_be_bytes());
        header.resize(header.len() + preallocation as usize, 0);
        if write_all_at(file.as_mut(), 0, &header).is_err() {
            // A nearly full disk still takes a segment without zeros ahead: it grows
            // batch by batch, as segments did before they had any.
            preallocation = 0;
            header.truncate(HEADER_LEN as usize);
            file.set_len(0)
                .and_then(|()| write_all_at(file.as_mut(), 0, &header))
                .map_err(LogError::io(&tmp))?;
        }
        file.sync_data().map_err(LogError::io(&tmp))?;
        storage.rename(&tmp, &path).map_err(LogError::io(&path))?;
        sync_dir_on(storage.as_ref(), dir)?;
        let seg = Segment {
            base,
            path: path.clone(),
        };
        let w = WalWriter {
            storage,
            dir: dir.to_path_buf(),
            file,
            path,
            len: HEADER_LEN,
            zeroed_end: header.len() as u64,
            preallocation,
            buf: Vec::new(),
            faults,
        };
        Ok((w, seg))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn bytes_written(&self) -> u64 {
        self.len
    }

    /// Starts a new segment at `base`, in place of this one, which is left whole: cut to
    /// its last entry, so that only the newest segment ever ends in zeros.
    pub fn roll(&mut self, base: u64) -> Result<Segment, LogError> {
        if self.zeroed_end > self.len {
            self.file
                .set_len(self.len)
                .and_then(|()| self.file.sync_data())
                .map_err(LogError::io(&self.path))?;
            self.zeroed_end = self.len;
        }
        let (w, seg) =
            WalWriter::create(self.storage.clone(), &self.dir, base, self.faults.clone())?;
        *self = w;
        Ok(seg)
    }

    /// Writes a batch and fsyncs it. When the write fails, the segment is cut back to its
    /// last acknowledged byte and the cut is made durable, so a failed batch leaves nothing
    /// before the next one (appends go to the end of the file: a hole cannot form) and
    /// nothing a power loss could bring back behind a later segment.
    pub fn append_batch<'a>(
        &mut self,
        entries: impl Iterator<Item = &'a [u8]>,
    ) -> Result<(), WalError> {
        self.buf.clear();
        for e in entries {
            let len = (e.len() as u32).to_le_bytes();
            let mut crc = crc32fast::Hasher::new();
            crc.update(&len);
            crc.update(e);
            self.buf.extend_from_slice(&len);
            self.buf.extend_from_slice(&crc.finalize().to_le_bytes());
            self.buf.extend_from_slice(e);
        }
        let entries_end = self.len + self.buf.len() as u64;
        let zeroed_end = if entries_end > self.zeroed_end {
            // The same write lays down the next stretch of zeros, so only this batch's
            // fsync records a longer file.
            let end = entries_end + self.preallocation;
            self.buf.resize((end - self.len) as usize, 0);
            end
        } else {
            self.zeroed_end
        };
        let lays_zeros = zeroed_end > self.zeroed_end;
        let zeroed_end = match self.write_buf(entries_end) {
            Ok(()) => zeroed_end,
            Err(write) => {
                if let Err(undo) = self.undo() {
                    return Err(WalError::UndoFailed { write, undo });
                }
                if !lays_zeros || self.preallocation == 0 {
                    return Err(WalError::Write(write));
                }
                // The zeros may be what did not fit on a nearly full disk: write the
                // entries alone, and lay down no more zeros in this segment.
                self.preallocation = 0;
                self.buf.truncate((entries_end - self.len) as usize);
                if let Err(write) = self.write_buf(entries_end) {
                    if let Err(undo) = self.undo() {
                        return Err(WalError::UndoFailed { write, undo });
                    }
                    return Err(WalError::Write(write));
                }
                entries_end
            }
        };
        if let Err(e) = self.file.sync_data() {
            // After a failed fsync the kernel may have dropped the dirty pages while
            // marking them clean: nothing written since the last good fsync can be trusted.
            let _ = self.file.set_len(self.len);
            return Err(WalError::Unrecoverable(e));
        }
        self.len = entries_end;
        self.zeroed_end = zeroed_end;
        Ok(())
    }

    /// Writes the encoded batch; with the fault switch failing, only part of it, then
    /// fails, as a disk that fills up mid-write does; with it stalled, waits first.
    /// Cuts the segment back to its last acknowledged byte (the fragment of a failed
    /// write, and any zeros laid down with it), durably.
    fn undo(&mut self) -> std::io::Result<()> {
        self.file.set_len(self.len)?;
        self.file.sync_data()?;
        self.zeroed_end = self.len;
        Ok(())
    }

    fn write_buf(&mut self, entries_end: u64) -> std::io::Result<()> {
        self.faults.wait_while_stalled();
        if self.faults.is_failing() {
            // Half of the entries, not of the zeros after them: a torn record.
            let part = ((entries_end - self.len) / 2) as usize;
            write_all_at(self.file.as_mut(), self.len, &self.buf[..part])?;
            return Err(std::io::Error::other(format!(
                "injected storage fault after {part} of {} bytes",
                entries_end - self.len
            )));
        }
        write_all_at(self.file.as_mut(), self.len, &self.buf)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// What recovery found in the write-ahead segments.
#[derive(Debug, Default)]
pub struct WalRecovery {
    pub segments: Vec<Segment>,
    /// Entries at indexes `>= first_pending`, durable but not in the checkpoint.
    pub pending: Vec<Vec<u8>>,
    pub first_pending: u64,
    /// Bytes cut from the end of the last segment: an append torn by a crash, never
    /// acknowledged.
    pub torn_bytes: u64,
    /// The segment the torn bytes were cut from.
    pub torn_segment: Option<PathBuf>,
}

/// Reads every segment, cuts a torn tail off the last one, and returns the entries that
/// the checkpoint of `size` does not cover yet.
///
/// Every segment kept is fsynced: what was read may have been only in the page cache (a
/// batch whose fsync failed, or the cut that undid it) and must be on disk as read before
/// a new segment follows it, or a power loss could bring back a fragment, or take away an
/// entry, in a segment that is no longer the newest.
pub fn recover(storage: &dyn Storage, dir: &Path, size: u64) -> Result<WalRecovery, LogError> {
    for name in storage.list(dir).map_err(LogError::io(dir))? {
        if name.ends_with(".wal.tmp") {
            // A segment whose creation was cut short; it never held an entry.
            let path = dir.join(name);
            storage.remove_file(&path).map_err(LogError::io(&path))?;
        }
    }
    let mut segments = list_segments(storage, dir)?;
    let mut out = WalRecovery {
        first_pending: size,
        ..WalRecovery::default()
    };
    // Entries from `size` on must follow one another without a gap. Segments wholly below
    // the checkpoint are skipped: one is left behind whenever removing it failed.
    let mut next = size;
    let mut chained = false;
    let last = segments.len().saturating_sub(1);
    let mut keep = Vec::new();
    for (i, seg) in segments.drain(..).enumerate() {
        let data = storage.read(&seg.path).map_err(LogError::io(&seg.path))?;
        let corrupt = |why: String| LogError::Corrupt {
            path: seg.path.clone(),
            why,
        };
        if (data.len() as u64) < HEADER_LEN || &data[..8] != MAGIC {
            if i == last
                && data.len() < HEADER_LEN as usize
                && MAGIC.starts_with(&data[..data.len().min(8)])
            {
                // A segment whose creation was cut short holds nothing acknowledged
                // (logs written before segments were created under a temporary name).
                storage
                    .remove_file(&seg.path)
                    .map_err(LogError::io(&seg.path))?;
                sync_dir_on(storage, dir)?;
                out.torn_bytes += data.len() as u64;
                out.torn_segment = Some(seg.path.clone());
                continue;
            }
            return Err(corrupt("not a write-ahead segment (bad header)".into()));
        }
        let base = u64::from_be_bytes(
            data[8..16]
                .try_into()
                .map_err(|_| corrupt("bad header".into()))?,
        );
        if base != seg.base {
            return Err(corrupt(format!(
                "header says base {base}, name says {}",
                seg.base
            )));
        }
        if chained && base != next {
            return Err(corrupt(format!(
                "segment starts at {base}; the one before ends at {next}"
            )));
        }
        if base > next {
            return Err(corrupt(format!(
                "entries {size}..{base} are missing: the checkpoint covers {size} entries but the first segment after it starts at {base}"
            )));
        }
        let (entries, valid_len) = parse_records(&data);
        if valid_len < data.len() {
            let torn = torn_len(&data, valid_len);
            if i != last {
                return Err(corrupt(format!(
                    "damaged record at byte {valid_len} in a segment that is not the newest"
                )));
            }
            storage
                .open_append(&seg.path)
                .and_then(|mut f| {
                    f.set_len(valid_len as u64)?;
                    f.sync_data()
                })
                .map_err(LogError::io(&seg.path))?;
            if torn > 0 {
                out.torn_bytes += torn as u64;
                out.torn_segment = Some(seg.path.clone());
            }
        } else {
            storage
                .open_append(&seg.path)
                .and_then(|mut f| f.sync_data())
                .map_err(LogError::io(&seg.path))?;
        }
        let end = base + entries.len() as u64;
        if end > size {
            let skip = (size.saturating_sub(base)) as usize;
            out.pending
                .extend(entries.into_iter().skip(skip).map(<[u8]>::to_vec));
            next = end;
            chained = true;
        }
        keep.push(seg);
    }
    out.segments = keep;
    Ok(out)
}

/// How many bytes after the last valid record at `valid` are a torn write: up to the last
/// byte that is not zero. The zeros after it were laid down ahead and never held an entry.
pub fn torn_len(data: &[u8], valid: usize) -> usize {
    data.get(valid..)
        .and_then(|tail| tail.iter().rposition(|&b| b != 0))
        .map_or(0, |last| last + 1)
}

/// Splits a segment into its valid records; returns them and where validity ends.
pub fn parse_records(data: &[u8]) -> (Vec<&[u8]>, usize) {
    let mut off = HEADER_LEN as usize;
    let mut out = Vec::new();
    while data.len().saturating_sub(off) >= RECORD_HEADER {
        let len_bytes = [data[off], data[off + 1], data[off + 2], data[off + 3]];
        let len = u32::from_le_bytes(len_bytes) as usize;
        let crc = u32::from_le_bytes([data[off + 4], data[off + 5], data[off + 6], data[off + 7]]);
        let start = off + RECORD_HEADER;
        if len > crate::bundle::MAX_ENTRY_BYTES || data.len() - start < len {
            break;
        }
        let mut h = crc32fast::Hasher::new();
        h.update(&len_bytes);
        h.update(&data[start..start + len]);
        if h.finalize() != crc {
            break;
        }
        out.push(&data[start..start + len]);
        off = start + len;
    }
    (out, off.min(data.len()))
}

/// The segments in a directory, oldest first.
pub fn list_segments(storage: &dyn Storage, dir: &Path) -> Result<Vec<Segment>, LogError> {
    let mut segs = Vec::new();
    for name in storage.list(dir).map_err(LogError::io(dir))? {
        let Some(stem) = name.strip_suffix(".wal") else {
            continue;
        };
        if let Ok(base) = stem.parse::<u64>() {
            segs.push(Segment {
                base,
                path: dir.join(&name),
            });
        }
    }
    segs.sort_by_key(|s| s.base);
    Ok(segs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{RealDisk, Storage};
    use std::fs;

    /// A segment as a roll leaves it: cut to its last entry.
    fn write(dir: &Path, base: u64, entries: &[&[u8]]) -> PathBuf {
        let (mut w, seg) =
            WalWriter::create(Arc::new(RealDisk), dir, base, FaultSwitch::default()).unwrap();
        w.append_batch(entries.iter().copied()).unwrap();
        let end = w.bytes_written();
        drop(w);
        fs::OpenOptions::new()
            .write(true)
            .open(&seg.path)
            .unwrap()
            .set_len(end)
            .unwrap();
        seg.path
    }

    fn recover(dir: &Path, size: u64) -> Result<WalRecovery, LogError> {
        super::recover(&RealDisk, dir, size)
    }

    /// The segment's bytes up to the end of its last entry, without the zeros ahead.
    fn entries_of(path: &Path) -> Vec<u8> {
        let data = fs::read(path).unwrap();
        let end = parse_records(&data).1;
        data[..end].to_vec()
    }

    #[test]
    fn every_possible_torn_tail_is_cut_and_acknowledged_entries_survive() {
        let tmp = tempfile::tempdir().unwrap();
        let path = write(tmp.path(), 0, &[b"alpha", b"beta", b"gamma"]);
        let full = entries_of(&path);
        let acked_end = HEADER_LEN as usize + 2 * RECORD_HEADER + 5 + 4;
        assert_eq!(full.len(), acked_end + RECORD_HEADER + 5);
        for zeros_after in [0, 4096] {
            for cut in acked_end..full.len() {
                let mut torn = full[..cut].to_vec();
                torn.resize(cut + zeros_after, 0);
                fs::write(&path, &torn).unwrap();
                let r = recover(tmp.path(), 0).unwrap();
                assert_eq!(
                    r.pending,
                    vec![b"alpha".to_vec(), b"beta".to_vec()],
                    "cut at {cut}"
                );
                // A fragment's own trailing zeros look like the zeros laid down ahead.
                let fragment = &full[acked_end..cut];
                let nonzero =
                    fragment.len() - fragment.iter().rev().take_while(|&&b| b == 0).count();
                assert_eq!(r.torn_bytes, nonzero as u64, "cut at {cut}");
                assert_eq!(fs::metadata(&path).unwrap().len(), acked_end as u64);
            }
        }
    }

    #[test]
    fn zeros_laid_down_ahead_are_overwritten_by_batches_and_are_not_a_torn_write() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut w, seg) =
            WalWriter::create(Arc::new(RealDisk), tmp.path(), 0, FaultSwitch::default()).unwrap();
        w.append_batch([b"alpha".as_slice()].into_iter()).unwrap();
        let on_disk = fs::metadata(&seg.path).unwrap().len();
        assert!(
            on_disk >= HEADER_LEN + RealDisk.preallocation(),
            "the segment is {on_disk} bytes, with entries up to {}",
            w.bytes_written()
        );
        w.append_batch([b"beta".as_slice()].into_iter()).unwrap();
        assert_eq!(
            fs::metadata(&seg.path).unwrap().len(),
            on_disk,
            "a batch inside the zeros made the file longer"
        );
        drop(w);
        let r = recover(tmp.path(), 0).unwrap();
        assert_eq!(r.pending, vec![b"alpha".to_vec(), b"beta".to_vec()]);
        assert_eq!(r.torn_bytes, 0);
        assert_eq!(r.torn_segment, None);
        assert_eq!(
            fs::metadata(&seg.path).unwrap().len(),
            entries_of(&seg.path).len() as u64,
            "recovery cuts the zeros off the segment it leaves behind"
        );
    }

    #[test]
    fn a_batch_past_the_zeros_lays_down_more_and_every_entry_survives() {
        let disk = crate::storage::SimDisk::new();
        let dir = Path::new("wal");
        disk.create_dir_all(dir).unwrap();
        disk.sync_dir(Path::new("")).unwrap();
        let step = disk.preallocation() as usize;
        let (mut w, seg) =
            WalWriter::create(Arc::new(disk.clone()), dir, 0, FaultSwitch::default()).unwrap();
        let entry = vec![b'e'; step / 3];
        for _ in 0..10 {
            w.append_batch([entry.as_slice()].into_iter()).unwrap();
        }
        let data = disk.read(&seg.path).unwrap();
        assert!(data.len() as u64 > w.bytes_written());
        assert_eq!(parse_records(&data).0.len(), 10);
        disk.power_loss(crate::storage::PowerLoss::Strict);
        let r = super::recover(&disk, dir, 0).unwrap();
        assert_eq!(r.pending.len(), 10);
        assert_eq!(r.torn_bytes, 0);
    }

    #[test]
    fn a_hole_inside_a_torn_batch_hides_every_record_after_it() {
        // A disk may keep any of the pages of one write: here the first and third
        // records of an unacknowledged batch, not the second.
        let tmp = tempfile::tempdir().unwrap();
        let (mut w, seg) =
            WalWriter::create(Arc::new(RealDisk), tmp.path(), 0, FaultSwitch::default()).unwrap();
        w.append_batch([b"acked".as_slice()].into_iter()).unwrap();
        let acked_end = w.bytes_written() as usize;
        w.append_batch([b"x-record".as_slice(), b"y-record", b"z-record"].into_iter())
            .unwrap();
        drop(w);
        let mut data = fs::read(&seg.path).unwrap();
        let y = acked_end + RECORD_HEADER + 8;
        data[y..y + RECORD_HEADER + 8].fill(0);
        fs::write(&seg.path, &data).unwrap();
        let r = recover(tmp.path(), 0).unwrap();
        assert_eq!(r.pending, vec![b"acked".to_vec(), b"x-record".to_vec()]);
        assert!(
            r.torn_bytes > 0,
            "the z record after the hole is torn bytes"
        );
        assert_eq!(fs::metadata(&seg.path).unwrap().len() as usize, y);
    }

    #[test]
    fn zeros_left_in_an_older_segment_refuse_to_open() {
        let tmp = tempfile::tempdir().unwrap();
        let old = write(tmp.path(), 0, &[b"a"]);
        write(tmp.path(), 1, &[b"b"]);
        let mut data = fs::read(&old).unwrap();
        data.resize(data.len() + 64, 0);
        fs::write(&old, &data).unwrap();
        let err = recover(tmp.path(), 0).unwrap_err().to_string();
        assert!(err.contains("not the newest"), "{err}");
        assert_eq!(
            fs::read(&old).unwrap(),
            data,
            "recovery changed a segment it refused"
        );
    }

    fn faulty_sim() -> (
        crate::storage::SimDisk,
        crate::storage::FaultyDisk,
        &'static Path,
    ) {
        let sim = crate::storage::SimDisk::new();
        let dir = Path::new("wal");
        sim.create_dir_all(dir).unwrap();
        let disk = crate::storage::FaultyDisk::new(Arc::new(sim.clone()), 7);
        (sim, disk, dir)
    }

    #[test]
    fn a_disk_too_full_for_a_segments_zeros_still_takes_the_segment() {
        use crate::storage::{Fault, OpKind};
        let (sim, disk, dir) = faulty_sim();
        disk.inject_next(OpKind::Append, Fault::NoSpace);
        let (mut w, seg) =
            WalWriter::create(Arc::new(disk.clone()), dir, 0, FaultSwitch::default()).unwrap();
        w.append_batch([b"first".as_slice()].into_iter()).unwrap();
        w.append_batch([b"second".as_slice()].into_iter()).unwrap();
        let data = sim.read(&seg.path).unwrap();
        assert_eq!(
            parse_records(&data),
            (vec![b"first".as_slice(), b"second"], data.len())
        );
    }

    #[test]
    fn a_disk_too_full_for_a_batchs_zeros_still_takes_the_batch() {
        use crate::storage::{Fault, OpKind};
        let (sim, disk, dir) = faulty_sim();
        let step = disk.preallocation() as usize;
        let (mut w, seg) =
            WalWriter::create(Arc::new(disk.clone()), dir, 0, FaultSwitch::default()).unwrap();
        w.append_batch([b"first".as_slice()].into_iter()).unwrap();
        let big = vec![b'e'; step];
        disk.inject_next(OpKind::Append, Fault::NoSpace);
        w.append_batch([big.as_slice()].into_iter()).unwrap();
        w.append_batch([b"last".as_slice()].into_iter()).unwrap();
        let data = sim.read(&seg.path).unwrap();
        let (records, valid) = parse_records(&data);
        assert_eq!(records, vec![b"first".as_slice(), big.as_slice(), b"last"]);
        assert_eq!(
            valid,
            data.len(),
            "no zeros are laid down after the disk filled"
        );
    }

    #[test]
    fn a_rolled_segment_is_cut_to_its_last_entry() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut w, old) =
            WalWriter::create(Arc::new(RealDisk), tmp.path(), 0, FaultSwitch::default()).unwrap();
        w.append_batch([b"a".as_slice(), b"b"].into_iter()).unwrap();
        w.roll(2).unwrap();
        w.append_batch([b"c".as_slice()].into_iter()).unwrap();
        let data = fs::read(&old.path).unwrap();
        assert_eq!(
            parse_records(&data).1,
            data.len(),
            "zeros left in an older segment"
        );
        drop(w);
        let r = recover(tmp.path(), 0).unwrap();
        assert_eq!(r.pending, vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
    }

    #[test]
    fn a_flipped_bit_in_the_tail_is_detected_not_accepted() {
        let tmp = tempfile::tempdir().unwrap();
        let path = write(tmp.path(), 0, &[b"alpha", b"beta"]);
        let mut data = entries_of(&path);
        let last = data.len() - 1;
        data[last] ^= 0x20;
        fs::write(&path, &data).unwrap();
        let r = recover(tmp.path(), 0).unwrap();
        assert_eq!(r.pending, vec![b"alpha".to_vec()]);
        assert!(r.torn_bytes > 0);
    }

    #[test]
    fn damage_in_an_older_segment_refuses_to_open() {
        let tmp = tempfile::tempdir().unwrap();
        let old = write(tmp.path(), 0, &[b"alpha", b"beta"]);
        write(tmp.path(), 2, &[b"gamma"]);
        let mut data = entries_of(&old);
        let n = data.len();
        data[n - 2] ^= 1;
        fs::write(&old, &data).unwrap();
        let err = recover(tmp.path(), 0).unwrap_err().to_string();
        assert!(err.contains("00000000000000000000.wal"), "{err}");
        assert!(err.contains("not the newest"), "{err}");
    }

    #[test]
    fn pending_starts_at_the_checkpoint_size() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), 0, &[b"a", b"b"]);
        write(tmp.path(), 2, &[b"c", b"d"]);
        let r = recover(tmp.path(), 3).unwrap();
        assert_eq!(r.pending, vec![b"d".to_vec()]);
        assert_eq!(r.first_pending, 3);
        assert!(recover(tmp.path(), 5).unwrap().pending.is_empty());
    }

    #[test]
    fn a_segment_left_below_the_checkpoint_by_a_failed_removal_is_skipped() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), 0, &[b"a", b"b"]);
        write(tmp.path(), 5, &[b"f", b"g"]);
        let r = recover(tmp.path(), 6).unwrap();
        assert_eq!(r.pending, vec![b"g".to_vec()]);
        assert_eq!(r.segments.len(), 2);
        let err = recover(tmp.path(), 4).unwrap_err().to_string();
        assert!(err.contains("entries 4..5 are missing"), "{err}");
    }

    #[test]
    fn overlapping_segments_past_the_checkpoint_are_corruption() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), 0, &[b"a", b"b", b"c"]);
        write(tmp.path(), 2, &[b"c"]);
        let err = recover(tmp.path(), 1).unwrap_err().to_string();
        assert!(
            err.contains("segment starts at 2; the one before ends at 3"),
            "{err}"
        );
    }

    #[test]
    fn a_gap_between_checkpoint_and_segments_is_corruption() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), 10, &[b"a"]);
        assert!(recover(tmp.path(), 4).is_err());
    }
}
