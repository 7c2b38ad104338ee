//! The public directory a plain static web server can serve: the cosigned `checkpoint`
//! and the hash tiles it covers, copied from the log. Entry bundles and the log's private
//! state are never copied, so serving this directory cannot leak who looked up whom.
use cordon_log::tile::{TileId, TILE_WIDTH};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Copies the hash tiles a tree of `to` leaves needs and that a tree of `from` leaves
/// (already mirrored) did not have in this form, from `log_root` into `public`.
pub fn mirror_tiles(log_root: &Path, public: &Path, from: u64, to: u64) -> std::io::Result<()> {
    for level in 0u8..8 {
        let shift = 8 * u32::from(level);
        let (new, old) = (to >> shift, from >> shift);
        if new == 0 {
            break;
        }
        for index in old / TILE_WIDTH..=new / TILE_WIDTH {
            let width = (new - index * TILE_WIDTH).min(TILE_WIDTH);
            if width == 0 {
                continue;
            }
            // At most TILE_WIDTH (256), so it fits a u16.
            let id = TileId::hashes(level, index, width as u16);
            write_atomically(&public.join(id.path()), &tile_bytes(log_root, id, to)?)?;
        }
    }
    Ok(())
}

/// An exclusive lock on the public directory, released on drop. It lives in
/// `.publish.lock`, an empty file a static web server need not serve.
#[derive(Debug)]
pub struct PublishLock(std::fs::File);

impl Drop for PublishLock {
    fn drop(&mut self) {
        // Closing the file would release it too; unlocking first says so.
        let _ = self.0.unlock();
    }
}

/// Waits for the public directory's lock: gateways sharing a log take turns publishing.
pub fn lock(public: &Path) -> std::io::Result<PublishLock> {
    std::fs::create_dir_all(public)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open(public.join(".publish.lock"))?;
    file.lock()?;
    Ok(PublishLock(file))
}

/// The tile as a tree of `size` has it. The log deletes a partial tile once the full one
/// exists, which can happen while witnesses are being asked, so this falls back to the
/// full tile cut to the partial's width (a partial tile is a prefix of the full one).
fn tile_bytes(log_root: &Path, id: TileId, size: u64) -> std::io::Result<Vec<u8>> {
    let hashes = cordon_log::fs::read_hash_tile(log_root, id, size)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(hashes.concat())
}

/// Temporary file, fsync, rename, directory fsync: readers see the old file or the new.
/// The temporary name is this writer's own: gateways sharing a log (PostgreSQL backend)
/// share its public directory, and two writers truncating one temporary file could
/// rename a torn checkpoint into place.
pub fn write_atomically(path: &Path, data: &[u8]) -> std::io::Result<()> {
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    let n = WRITES.fetch_add(1, Ordering::Relaxed);
    name.push(format!(".{}.{n}.tmp", std::process::id()));
    let tmp = dir.join(name);
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(data)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test
    use super::*;

    #[test]
    fn a_partial_tile_the_log_replaced_with_the_full_one_is_still_mirrored() {
        let (log, public) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let full: Vec<u8> = (0..TILE_WIDTH * 32).map(|i| i.to_le_bytes()[0]).collect();
        let full_path = log.path().join(TileId::hashes(0, 0, 256).path());
        std::fs::create_dir_all(full_path.parent().unwrap()).unwrap();
        std::fs::write(&full_path, &full).unwrap();

        mirror_tiles(log.path(), public.path(), 0, 10).unwrap();

        let partial = std::fs::read(public.path().join("tile/0/000.p/10")).unwrap();
        assert_eq!(partial, full[..10 * 32]);
    }

    #[test]
    fn concurrent_writers_never_tear_the_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint");
        let (a, b) = (vec![b'a'; 300], vec![b'b'; 200]);
        std::fs::write(&path, &a).unwrap();
        std::thread::scope(|s| {
            for data in [&a, &b] {
                let path = &path;
                s.spawn(move || {
                    for _ in 0..200 {
                        write_atomically(path, data).unwrap();
                    }
                });
            }
            for _ in 0..2000 {
                let seen = std::fs::read(&path).unwrap();
                assert!(
                    seen == a || seen == b,
                    "a torn file of {} bytes",
                    seen.len()
                );
            }
        });
    }

    #[test]
    fn a_missing_tile_is_an_error_not_a_partial_public_tree() {
        let (log, public) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        assert!(mirror_tiles(log.path(), public.path(), 0, 10).is_err());
        assert!(!public.path().join("tile/0/000.p/10").exists());
    }
}
