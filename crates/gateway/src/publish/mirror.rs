//! The public directory a plain static web server can serve: the cosigned `checkpoint`
//! and the hash tiles it covers, copied from the log. Entry bundles and the log's private
//! state are never copied, so serving this directory cannot leak who looked up whom.
use cordon_log::tile::{TileId, TILE_WIDTH};
use std::io::Write;
use std::path::Path;

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
            let rel = TileId::hashes(level, index, width as u16).path();
            let data = std::fs::read(log_root.join(&rel))?;
            write_atomically(&public.join(&rel), &data)?;
        }
    }
    Ok(())
}

/// Temporary file, fsync, rename, directory fsync: readers see the old file or the new.
pub fn write_atomically(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let tmp = dir.join(name);
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(data)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}
