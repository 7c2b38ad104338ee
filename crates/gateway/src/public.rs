//! The public side of the log: the signed checkpoint and the hash tiles, never the entry
//! bundles (entries say who looked up whom) and never the private write-ahead state.
use std::path::PathBuf;

/// What a public-log request names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicFile {
    Checkpoint,
    /// A hash tile, as a path relative to the log root: `tile/<L>/<N...>[.p/<W>]`.
    Tile(PathBuf),
}

/// Reads a path below the public-log prefix (`checkpoint` or `tile/...`). Anything that
/// is not exactly a checkpoint or a hash-tile path by the tlog-tiles grammar is `None`;
/// `tile/entries/...` is refused by that grammar (its level is not a number).
pub fn parse_public_path(rest: &str) -> Option<PublicFile> {
    if rest == "checkpoint" {
        return Some(PublicFile::Checkpoint);
    }
    let mut parts = rest.strip_prefix("tile/")?.split('/');
    let level = parts.next()?;
    if level.is_empty() || level.len() > 2 || !level.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let rest: Vec<&str> = parts.collect();
    let (index, width) = match rest.iter().position(|s| s.ends_with(".p")) {
        Some(p) if p + 2 == rest.len() => (&rest[..=p], Some(rest[p + 1])),
        Some(_) => return None,
        None => (&rest[..], None),
    };
    let (last, dirs) = index.split_last()?;
    let ok_dir =
        |s: &&str| s.len() == 4 && s.starts_with('x') && s[1..].bytes().all(|b| b.is_ascii_digit());
    let last_num = last.strip_suffix(".p").unwrap_or(last);
    if !dirs.iter().all(ok_dir)
        || last_num.len() != 3
        || !last_num.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    if let Some(w) = width {
        let n: u32 = w.parse().ok()?;
        if !(1..=255).contains(&n) || w.starts_with('0') {
            return None;
        }
    }
    let mut path = PathBuf::from("tile");
    path.push(level);
    for d in dirs {
        path.push(d);
    }
    path.push(last);
    if let Some(w) = width {
        path.push(w);
    }
    Some(PublicFile::Tile(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_tiles_and_the_checkpoint_are_public() {
        assert_eq!(
            parse_public_path("checkpoint"),
            Some(PublicFile::Checkpoint)
        );
        assert_eq!(
            parse_public_path("tile/0/000"),
            Some(PublicFile::Tile(PathBuf::from("tile/0/000")))
        );
        assert_eq!(
            parse_public_path("tile/1/x001/234.p/17"),
            Some(PublicFile::Tile(PathBuf::from("tile/1/x001/234.p/17")))
        );
    }

    #[test]
    fn entry_bundles_and_private_files_are_never_public() {
        for p in [
            "tile/entries/000",
            "tile/entries/000.p/3",
            ".cordon/wal",
            "tile/0/../../.cordon/lock",
            "tile/0/000.p/0",
            "tile/0/x1/000",
            "tile/0/000/extra",
            "",
        ] {
            assert_eq!(parse_public_path(p), None, "{p}");
        }
    }
}
